"""The DDL that turns one schema into another: safe statements, in dependency order, with hazards.

`plan(source, target, changes)` turns the changes `dbsafe.schema.diff.diff` found into
`Statement`s; `render_sql` prints them as a script for `psql` (no transaction block:
`CREATE INDEX CONCURRENTLY` cannot run inside one).

Safe by construction, the way the runbooks say it:

- indexes on existing tables are built and dropped `CONCURRENTLY`;
- CHECK and FOREIGN KEY constraints are added `NOT VALID`, then validated (a validation
  takes only SHARE UPDATE EXCLUSIVE, so writes continue);
- UNIQUE and PRIMARY KEY constraints are added `USING INDEX` of an index built concurrently;
- `SET NOT NULL` goes through a validated CHECK, so PostgreSQL skips its own full scan;
- everything that loses data (dropped columns, tables, types) comes last.

What cannot be done safely is still emitted, never hidden, with its hazards named after
their consequence (as Stripe's pg-schema-diff does): `data-loss`, `table-rewrite`,
`access-exclusive-lock`, `share-lock`, `long-scan`, `index-unavailable`, `policy-gap`,
`replica-identity-gap`, `privilege-gap`, `view-gap`, `possible-rename`,
`requires-superuser`, `login-blocked`, `may-fail`, `not-generated`. Order: event triggers
dropped or disabled, schemas and extensions, types, dropping what depends on things
that change (triggers, policies, views, foreign keys, constraints, indexes), tables that
an object of another kind replaces, functions, tables and columns, constraints, indexes
and foreign keys, partitions attached (then the foreign keys that point at a replaced
table), views, triggers and policies, comments, grants and owners, then the drops,
event triggers created or enabled, and last the settings new sessions of the database start
with (`ALTER DATABASE ... SET`).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbsafe.pg.names import object_name, quote_ident
from dbsafe.schema.casts import EXPLICIT, PARSE, UNKNOWN, base_type, conversion, is_string_type
from dbsafe.schema.diff import (
    ADD,
    ALTER,
    DROP,
    REORDER,
    Change,
    diff,
    function_identity,
    object_of,
    renamed_sequences,
)
from dbsafe.schema.model import (
    Column,
    ColumnDetails,
    CompositeType,
    Constraint,
    Domain,
    DomainConstraint,
    Enum,
    EventTrigger,
    Function,
    Index,
    Policy,
    RangeType,
    Relation,
    Rule,
    SchemaSnapshot,
    Setting,
    Statistics,
    Trigger,
    replace,
)
from dbsafe.schema.model import Sequence as SequenceObject
from dbsafe.schema.privileges import PRIVILEGES as _PRIVILEGES
from dbsafe.schema.privileges import Acl as _Acl
from dbsafe.schema.privileges import effective_acl as _effective_acl
from dbsafe.schema.privileges import parse_acl as _parse_acl
from dbsafe.schema.reads import (
    column_names,
    columns_read,
    nodes,
    parsed_definition,
    redone_by_type_change,
    sequences_called,
)

LOCK_TIMEOUT = "5s"


@dataclass(frozen=True, slots=True)
class Hazard:
    """A consequence of running a statement that a reviewer must accept.

    `kind` names the consequence: `data-loss`, `table-rewrite`, `access-exclusive-lock`,
    `share-lock`, `long-scan`, `index-unavailable`, `policy-gap`, `replica-identity-gap`,
    `privilege-gap`, `view-gap`, `possible-rename`, `requires-superuser`, `login-blocked`,
    `may-fail`, `not-generated`.
    """

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement of a plan, with the hazards of running it."""

    sql: str  # without the trailing semicolon
    hazards: tuple[Hazard, ...] = ()
    transactional: bool = True  # False: CONCURRENTLY, must run outside a transaction block
    subject: str = ""  # the object it changes, e.g. "public.orders.note"


@dataclass(frozen=True, slots=True)
class Script:
    """A rendered plan: the text, and the line each statement starts on (1-based)."""

    text: str
    lines: tuple[int, ...] = ()


def migration_sql(source: SchemaSnapshot, target: SchemaSnapshot) -> str:
    """The whole script turning `source` into `target` (diff, plan and render in one call)."""
    return render_sql(plan(source, target, diff(source, target))).text


def render_sql(statements: Sequence[Statement], *, header: bool = True,
               search_path: Sequence[str] = (), notes: Mapping[int, str] | None = None,
               ) -> Script:
    """Print statements as a psql script, each preceded by its hazards as comments.

    Args:
        statements: a plan, as `plan` returns it.
        header: start with the session settings the plan relies on (`lock_timeout`,
            `check_function_bodies = off` so functions can be created before the tables
            their bodies read, and the target's `search_path`).
        search_path: the search path the statements' type names and definitions assume.
        notes: extra comment lines, by statement index, printed right above the statement
            (after its hazards), e.g. a `dbsafe: ignore[...]` directive.

    Returns:
        The script and the line of each statement.
    """
    out: list[str] = []
    lines: list[int] = []
    if header:
        out += [
            "-- Generated by dbsafe: run with psql, outside a transaction block",
            "-- (CREATE INDEX CONCURRENTLY cannot run inside one).",
            f"SET lock_timeout = '{LOCK_TIMEOUT}';",
            "SET check_function_bodies = off;",
        ]
        if search_path:
            out.append(f"SET search_path = {', '.join(quote(s) for s in search_path)};")
        out.append("")
    line = len(out) + 1  # the header entries are one line each
    for index, statement in enumerate(statements):
        for hazard in statement.hazards:
            out.append(f"-- hazard {hazard.kind}: {_one_line(hazard.message)}")
            line += 1
        if notes and index in notes:
            out.append(notes[index])
            line += 1
        lines.append(line)
        if statement.sql.startswith("--"):  # a note, not a statement
            out.append(statement.sql)
        else:
            out.append(statement.sql.rstrip().rstrip(";") + ";")
        line += out[-1].count("\n") + 1
    return Script("\n".join(out) + "\n", tuple(lines))


# -- identifiers -------------------------------------------------------------------------------

def quote(name: str) -> str:
    """Quote an identifier the way `quote_ident` does, with the keywords of PostgreSQL's
    newest grammar (`dbsafe.pg.names.quote_ident`).

    >>> quote("orders"), quote("CustomerNotes"), quote("user"), quote('a"b')
    ('orders', '"CustomerNotes"', '"user"', '"a""b"')
    """
    return quote_ident(name)


def qualify(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def literal(text: str) -> str:
    """A SQL string literal. >>> literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def _split(dotted: str) -> tuple[str, str]:
    schema, _, name = dotted.partition(".")
    return schema, name


def _dotted(dotted: str) -> str:
    return qualify(*_split(dotted))


# -- planning ------------------------------------------------------------------------------------

_RELATION_KINDS = ("table", "partitioned_table", "foreign_table", "view", "materialized_view")
_TABLE_KINDS = ("table", "partitioned_table", "foreign_table")
_OBJECT_WORD = {
    "table": "TABLE",
    "partitioned_table": "TABLE",
    "foreign_table": "FOREIGN TABLE",
    "view": "VIEW",
    "materialized_view": "MATERIALIZED VIEW",
}


@dataclass
class _Plan:
    """The statements of each phase, and what earlier phases already decided."""

    source: SchemaSnapshot
    target: SchemaSnapshot
    changes: Sequence[Change]
    phases: dict[str, list[Statement]] = field(default_factory=dict)
    recreate_views: set[tuple[str, ...]] = field(default_factory=set)
    # Views whose definition changes that `CREATE OR REPLACE VIEW` changes where they stand
    # (`_replaceable_view`): not dropped, their readers neither.
    replace_views: set[tuple[str, ...]] = field(default_factory=set)
    recreate_triggers: set[tuple[str, str, str]] = field(default_factory=set)
    recreate_policies: set[tuple[str, str, str]] = field(default_factory=set)
    # Kept rules and casts calling a function dropped and created again: taken off before
    # its DROP, put back after.
    recreate_rules: set[tuple[str, str, str]] = field(default_factory=set)
    recreate_casts: set[tuple[str, ...]] = field(default_factory=set)
    # Column defaults, indexes and check constraints that call a function dropped and created
    # again: taken off before the DROP FUNCTION, put back after the new one exists.
    reset_defaults: set[tuple[str, str, str]] = field(default_factory=set)
    # Columns of a rebuilt enum or domain converted to the new one, their target's default
    # set again after (a change of that default has nothing left to do).
    converted_columns: set[tuple[str, str, str]] = field(default_factory=set)
    # Columns whose default is already dropped (by a type change or a default change).
    dropped_defaults: set[tuple[str, ...]] = field(default_factory=set)
    # Indexes whose target comment is set (by their build or by a change of comment).
    commented_indexes: set[str] = field(default_factory=set)
    # Indexes whose CLUSTER ON mark and statistics targets are set (by their build).
    marked_indexes: set[str] = field(default_factory=set)
    rebuilt_indexes: set[tuple[str, str, str]] = field(default_factory=set)
    rebuilt_checks: set[tuple[str, str, str]] = field(default_factory=set)
    # Columns dropped and added again (`_mark_users_of_dropped_column`): DROP COLUMN takes
    # the extended statistics objects on them along.
    readded_columns: set[tuple[str, str, str]] = field(default_factory=set)
    recreate_fks: set[tuple[str, str, str]] = field(default_factory=set)
    created_relations: set[tuple[str, ...]] = field(default_factory=set)
    dropped_relations: set[tuple[str, ...]] = field(default_factory=set)
    # Relations dropped and created again under the same name (a table becoming a view or a
    # partitioned table, a new partition key): the old one must go before the new one comes.
    replaced_relations: set[tuple[str, ...]] = field(default_factory=set)
    # Collations not made again, and why: attributes of composite types a table column uses
    # have them (`_held_collations`).
    held_collations: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    default_owner: str | None = None
    identity_sequences: dict[str, SequenceObject] | None = None
    detached: set[str] = field(default_factory=set)  # partitions detached so far, "schema.name"
    # The target's partitions of each partitioned table, "schema.name" -> partitions (built
    # once: a schema of a thousand tables asks for them per index of a partitioned table).
    target_partitions: dict[str, list[Relation]] | None = None
    # What each table's REVOKEs took from each grantee, ("schema", "name") -> grantee ->
    # (privileges, grant options): the same roles' column privileges went with them.
    table_revokes: dict[tuple[str, str], _Revoked] = field(default_factory=dict)
    # Partitions' indexes built before their parent's (schema, table, index).
    built_partition_indexes: set[tuple[str, str, str]] = field(default_factory=set)
    # A partitioned table's plain index that becomes a key of its name: the keys of its
    # partitions attached to it ("schema.table.name"), and whether `DROP INDEX ... CASCADE`
    # takes them safely (`_parent_index_cascades`).
    cascades: dict[tuple[str, str, str], tuple[list[str], bool]] = field(default_factory=dict)
    # Functions the script creates after the tables and columns (SQL-standard bodies that
    # read relations, aggregates): a column default calling one waits for it (42883).
    late_functions: list[Function] = field(default_factory=list)
    _by_identity: dict[tuple[str, ...], list[Change]] | None = None

    def changes_of(self, identity: tuple[str, ...]) -> list[Change]:
        """The changes of the object `identity` names (looked up once per plan: asked for
        each change of a partition, a scan of every change made a plan of GitLab's
        thousand tables quadratic)."""
        if self._by_identity is None:
            self._by_identity = {}
            for change in self.changes:
                self._by_identity.setdefault(change.identity, []).append(change)
        return self._by_identity.get(tuple(identity), [])

    def emit(self, phase: str, sql: str, *hazards: Hazard, subject: str = "",
             transactional: bool = True) -> None:
        self.phases.setdefault(phase, []).append(
            Statement(sql, tuple(hazards), transactional, subject))


# Phases in execution order.
_PHASES = (
    "drop_event_triggers", "schemas", "extensions", "collations", "servers", "types",
    "sequences",
    "drop_triggers", "drop_policies", "drop_statistics", "drop_views", "drop_function_users",
    "drop_casts", "drop_aggregates", "drop_replaced_functions", "drop_fks", "drop_constraints",
    "drop_indexes", "detach", "drop_left_constraints", "drop_replaced", "rebuild_types",
    "functions_early", "tables", "columns", "functions_late", "aggregates", "casts", "function_users",
    "constraints", "indexes", "fks", "drop_attach_columns", "attach", "after_attach",
    "fks_to_replaced",
    "relation_options",
    "views", "view_indexes", "statistics", "triggers", "policies", "rls", "publications",
    "sequence_owners", "comments", "schema_owners", "schema_grants", "owners", "grants",
    "default_privileges",
    "drop_columns", "renames_after_drops", "drop_row_functions", "drop_tables", "drop_sequences",
    "drop_functions", "drop_types",
    "drop_collations", "drop_servers", "drop_extensions", "drop_schemas", "event_triggers",
    "settings",
)


def plan(source: SchemaSnapshot, target: SchemaSnapshot, changes: Sequence[Change],
         ) -> tuple[Statement, ...]:
    """The statements that apply `changes` (from `diff(source, target)`) to `source`.

    Only the given changes are acted on, so whatever `DiffOptions` left out stays as it is.

    Args:
        source: the schema the statements will run on.
        target: the schema they produce.
        changes: `diff(source, target, options)`.

    Returns:
        Statements in execution order.
    """
    unmade: dict[tuple[str, ...], set[str]] = {}
    if source.server_version is not None and source.server_version < 180000:
        target, changes, unmade = _without_not_null_constraints(target, changes)
    held = _held_collations(source, changes)
    attachments = [c for c in changes if c.attribute == "attached_to"]
    changes = [c for c in changes if c.attribute != "attached_to"]
    changes = _with_users_of_rebuilt_collations(source, target, changes, set(held))
    p = _Plan(source, target, changes, held_collations=held)
    _index_attachments(p, attachments)
    owners = Counter(r.owner for r in target.relations if r.owner)
    p.default_owner = owners.most_common(1)[0][0] if owners else None
    by_kind: dict[str, list[Change]] = {}
    for change in changes:
        by_kind.setdefault(change.kind, []).append(change)
        if change.kind in _TABLE_KINDS and change.action == DROP:
            p.dropped_relations.add((change.identity[0], change.identity[1]))
        if change.kind in _TABLE_KINDS and change.action == ADD:
            p.created_relations.add((change.identity[0], change.identity[1]))
    p.replaced_relations = _replaced_relations(changes)
    p.dropped_relations |= p.replaced_relations
    p.created_relations |= {key for key in p.replaced_relations
                            if (t := target.relation(*key)) and t.kind in _TABLE_KINDS}

    _schemas(p, by_kind.get("schema", []))
    _not_null_constraints_unmade(p, unmade)
    _extensions(p, by_kind.get("extension", []))
    _collations(p, by_kind.get("collation", []))
    _enums(p, by_kind.get("enum", []))
    _domains(p, by_kind.get("domain", []))
    _composites(p, by_kind.get("composite_type", []))
    _range_types(p, by_kind.get("range_type", []))
    _sequences(p, by_kind.get("sequence", []))
    relation_changes = [c for c in changes if c.kind in _RELATION_KINDS]
    _functions(p, by_kind.get("function", []), relation_changes)
    _mark_views_to_recreate(p)
    _mark_readers_of_retyped_columns(p)
    _relations(p, relation_changes)
    _columns(p, by_kind.get("column", []))
    _columns_kept_their_own(p)
    _constraints(p, by_kind.get("constraint", []))
    _indexes(p, by_kind.get("index", []))
    _restore_function_users(p)
    _replica_identities_rebuilt(p)
    _views(p)
    _triggers(p, by_kind.get("trigger", []))
    _rules(p, by_kind.get("rule", []))
    _policies(p, by_kind.get("policy", []))
    _statistics(p, by_kind.get("statistics", []))
    _publications(p, by_kind.get("publication", []))
    _servers(p, by_kind.get("foreign_server", []))
    _default_privileges(p, by_kind.get("default_privileges", []))
    _event_triggers(p, by_kind.get("event_trigger", []))
    _index_mark_changes(p, by_kind.get("index", []))
    _casts(p, by_kind.get("cast", []))
    _settings(p, [*by_kind.get("database_setting", []), *by_kind.get("role_setting", [])])
    for change in changes:
        if change.action == REORDER:
            p.emit("comments", f"-- column order of {_dotted(change.subject)} differs; "
                   "PostgreSQL cannot reorder columns in place (left as is)")
    _order_types(p)
    ordered: list[Statement] = []
    for phase in _PHASES:
        ordered += p.phases.get(phase, [])
    # Comment-only entries (no SQL) would render as a bare ";": keep them as comments.
    return tuple(ordered)


# -- schemas, extensions ---------------------------------------------------------------------


def _schemas(p: _Plan, changes: list[Change]) -> None:
    for c in changes:
        name = c.identity[0]
        if c.action == ADD:
            p.emit("schemas", f"CREATE SCHEMA {quote(name)}", subject=name)
            _comment_acl_owner(p, "SCHEMA", quote(name), c.new, "n", created=True)
        elif c.action == DROP:
            p.emit("drop_schemas", f"DROP SCHEMA {quote(name)}",
                   Hazard("data-loss", f"Drops schema `{name}`; fails while it still holds "
                          "objects this plan does not drop."), subject=name)
        else:
            _alter_common(p, c, "SCHEMA", quote(name), "n")


def _extensions(p: _Plan, changes: list[Change]) -> None:
    for c in _by_requirement(changes):
        name = c.identity[0]
        if c.action == ADD:
            ext = c.new
            p.emit("extensions", f"CREATE EXTENSION IF NOT EXISTS {quote(name)} WITH SCHEMA "
                   f"{quote(ext.schema)} VERSION {literal(ext.version)}", subject=name)
        elif c.action == DROP:
            p.emit("drop_extensions", f"DROP EXTENSION {quote(name)}",
                   Hazard("data-loss", f"Drops extension `{name}` and every object it owns."),
                   subject=name)
        elif c.attribute == "version":
            installed = next((e for e in p.source.extensions if e.name == name), None)
            if installed is not None and installed.updates is not None \
                    and c.new not in installed.updates:
                # (a downgrade: extensions seldom ship scripts for one)
                p.emit("extensions", f"-- extension {quote(name)}: UPDATE TO "
                       f"{literal(c.new)} is not generated: the source's server has no "
                       f"update path from version {literal(c.old)} to it",
                       Hazard("not-generated", f"PostgreSQL refuses `ALTER EXTENSION "
                              f"{quote(name)} UPDATE TO {literal(c.new)}` there (22023): "
                              "install that version's scripts, or drop and create the "
                              "extension by hand (its objects and their data go with it)."),
                       subject=name)
                continue
            p.emit("extensions", f"ALTER EXTENSION {quote(name)} UPDATE TO {literal(c.new)}",
                   subject=name)
        elif c.attribute == "schema":
            p.emit("extensions", f"ALTER EXTENSION {quote(name)} SET SCHEMA {quote(c.new)}",
                   subject=name)
        elif c.attribute == "comment":
            p.emit("comments", f"COMMENT ON EXTENSION {quote(name)} IS {_text(c.new)}",
                   subject=name)


def _by_requirement(changes: list[Change]) -> list[Change]:
    """`changes` with each extension created after the ones it requires and dropped before
    them (`DROP EXTENSION cube` fails while earthdistance, which requires it, is there;
    `CREATE EXTENSION earthdistance` fails before cube is)."""
    created = {c.identity[0]: c.new.requires for c in changes if c.action == ADD}
    dropped = {c.identity[0]: c.old.requires for c in changes if c.action == DROP}

    def depth(name: str, requires: dict[str, tuple[str, ...]], seen: frozenset[str]) -> int:
        below = [depth(r, requires, seen | {name}) for r in requires.get(name, ())
                 if r in requires and r not in seen]
        return 1 + max(below, default=0)

    def key(c: Change) -> int:
        name = c.identity[0]
        if c.action == ADD:
            return depth(name, created, frozenset())
        if c.action == DROP:
            return -depth(name, dropped, frozenset())
        return 0

    return sorted(changes, key=key)  # stable: otherwise in the order they came


# -- collations --------------------------------------------------------------------------------
#
# Created before the types and tables that use them, dropped after. No ALTER COLLATION
# changes what one does (only its name, owner and schema): a collation whose provider,
# locale, determinism or rules change is made again under its name, the old one renamed out
# of the way first and dropped at the end, and every table column using it gets the new
# one (`ALTER COLUMN ... TYPE ... COLLATE`), as do the domains, indexes, constraints and views
# naming it (`_with_users_of_rebuilt_collations`): they would otherwise keep the old one,
# and its DROP fail (2BP01).

# What CREATE COLLATION sets that no ALTER COLLATION changes.
_COLLATION_REMADE = ("provider", "locale", "lc_collate", "lc_ctype", "deterministic", "rules")


def _collations(p: _Plan, changes: list[Change]) -> None:
    rebuilt = set()
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.action == ADD:
            p.emit("collations", f"CREATE COLLATION {qname} ({c.new.definition})",
                   subject=c.subject)
            _comment_acl_owner(p, "COLLATION", qname, c.new, "C", created=True)
        elif c.action == DROP:
            p.emit("drop_collations", f"DROP COLLATION {qname}", subject=c.subject)
        elif c.attribute in _COLLATION_REMADE:
            if c.identity in rebuilt:
                continue  # one rebuild for every attribute that needs it
            rebuilt.add(c.identity)
            held = p.held_collations.get(c.identity)
            if held:
                p.emit("collations", f"-- collation {qname} is not made again: attributes of "
                       f"composite types that table columns use have it ({', '.join(held)})",
                       Hazard("not-generated", f"PostgreSQL cannot change the collation of "
                              "an attribute of a composite type a column uses (0A000): "
                              f"make `{c.subject}` again by hand (a new type, the columns "
                              "converted to it)."), subject=c.subject)
                continue
            collation = _target_object(p, c)
            old_name = f"{name}__dbsafe_old"[:63]
            p.emit("collations", f"ALTER COLLATION {qname} RENAME TO {quote(old_name)}",
                   subject=c.subject)
            p.emit("collations", f"CREATE COLLATION {qname} ({collation.definition})",
                   subject=c.subject)
            # Made again: it belongs to the role running the script, as a created one does.
            _comment_acl_owner(p, "COLLATION", qname, collation, "C", created=True)
            p.emit("drop_collations", f"DROP COLLATION {qualify(schema, old_name)}",
                   subject=c.subject)
        elif c.identity not in p.held_collations and any(
                x.kind == "collation" and x.attribute in _COLLATION_REMADE
                for x in p.changes_of(c.identity)):
            continue  # the rebuild gives it the target's owner and comment
        else:
            _alter_common(p, c, "COLLATION", qname, "C")


def _held_collations(source: SchemaSnapshot, changes: Sequence[Change],
                     ) -> dict[tuple[str, ...], list[str]]:
    """The collations to be made again that an attribute of a composite type has which a
    column of a table the changes keep uses, with those attributes: PostgreSQL cannot give
    such an attribute another collation (0A000), nor drop the old one while it has it."""
    remade = {qualify(*c.identity): c.identity for c in changes
              if c.kind == "collation" and c.action == ALTER and c.attribute in _COLLATION_REMADE}
    if not remade:
        return {}
    dropped = {c.identity[:2] for c in changes if c.kind in _TABLE_KINDS and c.action == DROP}
    held: dict[tuple[str, ...], list[str]] = {}
    for composite in source.composite_types:
        names = [a for a in composite.attributes if a.collation in remade]
        if names and any(
                _type_is(column.type, composite.schema, composite.name, source.search_path)
                for r in source.relations if r.kind in _TABLE_KINDS
                and (r.schema, r.name) not in dropped for column in r.columns):
            for attribute in names:
                held.setdefault(remade[attribute.collation or ""], []).append(
                    f"{composite.schema}.{composite.name}.{attribute.name}")
    return held


def _with_users_of_rebuilt_collations(source: SchemaSnapshot, target: SchemaSnapshot,
                                      changes: Sequence[Change],
                                      held: set[tuple[str, ...]]) -> Sequence[Change]:
    """`changes` with a change for each object that keeps using a collation made again
    (`_collations`), so that it uses the new one and the old one can go: each table column
    of it gets it as a column whose collation changes does (with what reads it taken off
    and put back, and its hazards), each domain of it is rebuilt as one whose collation
    changes is, each index, constraint, view, materialized view and trigger (its `WHEN`)
    naming it (`COLLATE x`) is made again, a policy's `USING` or `WITH CHECK` naming it is
    given again (`ALTER POLICY`, which reads it anew) and a SQL-standard function body
    naming it is replaced (`CREATE OR REPLACE`, which records its dependencies anew), and
    a composite type's attribute of it is given it (`ALTER ATTRIBUTE ... TYPE ... COLLATE`).
    An object that changes anyway already has its change. A collation in `held` is not made
    again: nothing changes for it."""
    remade = {c.identity for c in changes if c.kind == "collation" and c.action == ALTER
              and c.attribute in _COLLATION_REMADE and c.identity not in held}
    if not remade:
        return changes
    columns = {form for key in remade for form in (qualify(*key), ".".join(key))}
    changed = {(c.kind, c.identity) for c in changes}
    extra = [Change(ALTER, "domain", (d.schema, d.name), "collation", d.collation, d.collation)
             for d in target.domains if d.collation in columns
             and ("domain", (d.schema, d.name)) not in changed]
    # A domain's CHECK naming it is dropped and added again (`_domains` does so for the
    # constraints that differ: the old side is given those as not yet made).
    source_domains = {(d.schema, d.name): d for d in source.domains}
    for domain in target.domains:
        before_domain = source_domains.get((domain.schema, domain.name))
        if before_domain is None or ("domain", (domain.schema, domain.name)) in changed:
            continue
        naming = {k.name for k in domain.constraints if _names_collation(
            k.definition, "constraint", remade, target.search_path)}
        if naming:
            extra.append(Change(ALTER, "domain", (domain.schema, domain.name), "constraints",
                                tuple(replace(k, definition="") if k.name in naming else k
                                      for k in before_domain.constraints),
                                domain.constraints))

    source_composites = {(t.schema, t.name): t for t in source.composite_types}
    for composite in target.composite_types:
        before_composite = source_composites.get((composite.schema, composite.name))
        if before_composite is not None \
                and ("composite_type", (composite.schema, composite.name)) not in changed \
                and any(a.collation in columns for a in composite.attributes):
            extra.append(Change(ALTER, "composite_type", (composite.schema, composite.name),
                                "attributes", before_composite.attributes,
                                composite.attributes))

    def keeps(kind: str, identity: tuple[str, ...], old: Any, new: Any) -> None:
        if (kind, identity) not in changed and old == new:
            extra.append(Change(ALTER, kind, identity, "definition", old, new))

    # A trigger, policy or function whose other properties change (enabled, roles, owner)
    # still keeps the old collation: these are told apart by what changes.
    changed_attributes = {(c.kind, c.identity, c.attribute) for c in changes}
    source_functions = {function_identity(f): f for f in source.functions}
    for function in target.functions:
        signature = function_identity(function)
        old_function = source_functions.get(signature)
        if old_function is not None and _atomic(old_function) and function.definition \
                and ("function", signature, "definition") not in changed_attributes \
                and _names_collation(function.definition, "function", remade,
                                     target.search_path):
            extra.append(Change(ALTER, "function", signature, "definition",
                                old_function.definition, function.definition))

    for relation in target.relations:
        before = source.relation(relation.schema, relation.name)
        if before is None or before.kind != relation.kind:
            continue
        if relation.kind in ("view", "materialized_view") and relation.definition \
                and _names_collation(relation.definition, "view", remade, target.search_path):
            keeps(relation.kind, (relation.schema, relation.name), before.definition,
                  relation.definition)
        for column in relation.columns if relation.kind in _TABLE_KINDS else ():
            identity = (relation.schema, relation.name, column.name)
            old = before.column(column.name)
            if column.collation in columns and old is not None \
                    and old.collation == column.collation and ("column", identity) not in changed:
                extra.append(Change(ALTER, "column", identity, "collation", old.collation,
                                    column.collation))
            # A default (SET DEFAULT) or a generated column's expression (SET EXPRESSION, or
            # the column added again) naming it.
            attribute = "expression" if column.generated else "default"
            if old is not None and column.default and old.default == column.default \
                    and bool(old.generated) == bool(column.generated) \
                    and ("column", identity, attribute) not in changed_attributes \
                    and _names_collation(column.default, "expression", remade,
                                         target.search_path):
                extra.append(Change(ALTER, "column", identity, attribute, old.default,
                                    column.default))
        for index in relation.indexes:
            old_index = next((i for i in before.indexes if i.name == index.name), None)
            if old_index is not None and _names_collation(index.definition, "index", remade,
                                                          target.search_path):
                keeps("index", (relation.schema, relation.name, index.name),
                      old_index.definition, index.definition)
        for constraint in relation.constraints:
            old_constraint = next((k for k in before.constraints if k.name == constraint.name),
                                  None)
            if old_constraint is not None and constraint.definition and _names_collation(
                    constraint.definition, "constraint", remade, target.search_path):
                keeps("constraint", (relation.schema, relation.name, constraint.name),
                      old_constraint.definition, constraint.definition)
        for trigger in relation.triggers:
            identity = (relation.schema, relation.name, trigger.name)
            old_trigger = next((t for t in before.triggers if t.name == trigger.name), None)
            if old_trigger is not None and ("trigger", identity, "definition") \
                    not in changed_attributes and _names_collation(
                        trigger.definition, "trigger", remade, target.search_path):
                extra.append(Change(ALTER, "trigger", identity, "definition",
                                    old_trigger.definition, trigger.definition))
        for policy in relation.policies:
            identity = (relation.schema, relation.name, policy.name)
            old_policy = next((x for x in before.policies if x.name == policy.name), None)
            for attribute in ("using", "with_check"):
                expression = getattr(policy, attribute)
                if old_policy is not None and expression is not None \
                        and ("policy", identity, attribute) not in changed_attributes \
                        and _names_collation(expression, "expression", remade,
                                             target.search_path):
                    extra.append(Change(ALTER, "policy", identity, attribute,
                                        getattr(old_policy, attribute), expression))
    return [*changes, *extra]


def _names_collation(text: str, kind: str, collations: set[tuple[str, ...]],
                     search_path: Sequence[str]) -> bool:
    """Whether the definition `text` names one of `collations` ((schema, name)): qualified,
    or by its name alone where its schema is on the search path PostgreSQL printed it
    under; one that does not parse names it where the name appears in it at all."""
    if not any(name in text for _schema, name in collations):
        return False
    from dbsafe.schema.reads import collations_named

    named = collations_named(text, kind)
    if named is None:
        return True
    return any(parts == key or (parts == key[1:] and key[0] in search_path)
               for parts in named for key in collations)


# -- types -------------------------------------------------------------------------------------


def _enums(p: _Plan, changes: list[Change]) -> None:
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.action == ADD:
            enum: Enum = c.new
            labels = ", ".join(literal(label) for label in enum.labels)
            p.emit("types", f"CREATE TYPE {qname} AS ENUM ({labels})", subject=c.subject)
            _comment_acl_owner(p, "TYPE", qname, enum, "T", created=True)
        elif c.action == DROP:
            p.emit("drop_types", f"DROP TYPE {qname}", subject=c.subject)
        elif c.attribute == "labels":
            _enum_labels(p, schema, name, c.old, c.new)
        else:
            _alter_common(p, c, "TYPE", qname, "T")


def _enum_labels(p: _Plan, schema: str, name: str, old: tuple[str, ...],
                 new: tuple[str, ...]) -> None:
    qname = qualify(schema, name)
    subject = f"{schema}.{name}"
    if _is_subsequence(old, new):
        # ADD VALUE keeps existing values and needs no rewrite.
        for i, label in enumerate(new):
            if label in old:
                continue
            after = new[i - 1] if i else None
            position = (f" AFTER {literal(after)}" if after is not None
                        else f" BEFORE {literal(new[1])}" if len(new) > 1 else "")
            p.emit("types", f"ALTER TYPE {qname} ADD VALUE {literal(label)}{position}",
                   subject=subject)
        return
    # A value is removed or the order changes: PostgreSQL has no statement for that, so the
    # type is rebuilt and every column converted through text.
    keyed = _enum_keys(p, schema, name)
    if keyed:
        p.emit("types", f"-- enum {qname}: rebuilding it is not generated: partition keys "
               f"read columns of the type ({', '.join(keyed)})",
               Hazard("not-generated", f"PostgreSQL cannot change the type of a column in a "
                      f"partition key: rebuild enum `{subject}` (the new order or values) and "
                      "the tables partitioned by it by hand."), subject=subject)
        return
    removed = [label for label in old if label not in new]
    old_name = f"{name}__dbsafe_old"[:63]
    loss = Hazard("data-loss", f"Rebuilds enum `{subject}`"
                  + (f" without {', '.join(removed)}: fails if a row still holds one"
                     if removed else " to change the order of its values")
                  + "; every column of the type is rewritten.")
    # After what uses the type by name is dropped (functions taking or returning it, the
    # indexes and checks that compare with its values), which is then created again with
    # the new type.
    _mark_users_of_rebuilt_enum(p, schema, name)
    p.emit("rebuild_types", f"ALTER TYPE {qname} RENAME TO {quote(old_name)}", loss,
           *_renamed_labels(qname, subject, old, new), subject=subject)
    labels = ", ".join(literal(label) for label in new)
    p.emit("rebuild_types", f"CREATE TYPE {qname} AS ENUM ({labels})", subject=subject)
    _convert_columns(p, schema, name, "text")
    p.emit("drop_types", f"DROP TYPE {qualify(schema, old_name)}", subject=subject)


def _convert_columns(p: _Plan, schema: str, name: str, via: str | None) -> None:
    """Convert every column of the rebuilt type `schema.name` (arrays too) of the kept
    tables to the new one, through `via` (an enum's values go through text; a domain's
    cast directly), with their defaults taken off and put back."""
    qname = qualify(schema, name)
    for relation in p.source.relations:
        if (relation.schema, relation.name) in p.dropped_relations \
                or relation.kind not in _TABLE_KINDS:
            continue
        # The triggers and policies reading a column converted (a partition's and an
        # inheriting table's own too, which its parent's ALTER converts) go and come back
        # around it, as for a column whose type changes: they need not name the type
        # (`AFTER UPDATE OF status`, HOCKIA's; 0A000 on the ALTER before, task 563).
        _mark_readers_of_columns(p, relation, {
            column.name for column in relation.columns
            if _type_is(column.type, schema, name, p.source.search_path)})
        # Views are created again from their definitions; a partition's or an inheriting
        # table's column is converted by its parent's ALTER (PostgreSQL refuses it alone).
        if relation.partition_of:
            continue
        inherited: set[str] = set()
        for parent_name in relation.inherits:
            parent = p.source.relation(*_split(parent_name))
            inherited |= {c.name for c in parent.columns} if parent else set()
        for column in relation.columns:
            if column.name in inherited \
                    or not _type_is(column.type, schema, name, p.source.search_path):
                continue
            table = f"{_OBJECT_WORD[relation.kind]} {qualify(relation.schema, relation.name)}"
            col = quote(column.name)
            new_type = qname + "[]" * column.type.count("[]")
            p.recreate_views.update(
                _views_reading_column(p, relation.schema, relation.name, column.name))
            if column.default is not None:
                p.emit("columns", f"ALTER {table} ALTER COLUMN {col} DROP DEFAULT")
            through = f"::{via}" + "[]" * column.type.count("[]") if via else ""
            p.emit("columns", f"ALTER {table} ALTER COLUMN {col} TYPE {new_type} "
                   f"USING {col}{through}::{new_type}",
                   Hazard("table-rewrite", ("Rewrites" if via else "May rewrite")
                          + f" `{relation.schema}.{relation.name}` under an ACCESS EXCLUSIVE "
                          "lock" + ("." if via else " (each value checked against the "
                                    "domain's constraints).")),
                   subject=f"{relation.schema}.{relation.name}.{column.name}")
            new_column = _target_column(p, relation.schema, relation.name, column.name)
            p.converted_columns.add((relation.schema, relation.name, column.name))
            if new_column is not None and new_column.default is not None:
                p.emit("columns", f"ALTER {table} ALTER COLUMN {col} SET DEFAULT "
                       f"{new_column.default}")


def _renamed_labels(qname: str, subject: str, old: tuple[str, ...],
                    new: tuple[str, ...]) -> tuple[Hazard, ...]:
    """A `possible-rename` hint where each value that goes has a new one in its place
    (`('a', 'b')` to `('a', 'bee')`): the rebuild fails on every row holding the old value,
    where `ALTER TYPE ... RENAME VALUE` keeps those rows and rewrites nothing."""
    if len(old) != len(new):
        return ()
    pairs = [(o, n) for o, n in zip(old, new, strict=True) if o != n]
    if not pairs or any(o in new or n in old for o, n in pairs):
        return ()
    renames = "; ".join(f"ALTER TYPE {qname} RENAME VALUE {literal(o)} TO {literal(n)}"
                        for o, n in pairs)
    return (Hazard("possible-rename", f"enum `{subject}` has "
                   + ", ".join(f"{literal(n)} where it had {literal(o)}" for o, n in pairs)
                   + f": if this is a rename, use {renames} instead and keep the rows that "
                   "hold it (the rebuild fails on them)."),)


def _rebuilt_enums(p: _Plan) -> set[tuple[str, ...]]:
    """The enums rebuilt (a value removed, or the order changed) and the domains (a new base
    type or collation), as (schema, name)."""
    enums = {c.identity for c in p.changes if c.action == ALTER and c.kind == "enum"
             and c.attribute == "labels" and not _is_subsequence(c.old, c.new)}
    return {key for key in enums | _rebuilt_domains(p) if not _enum_keys(p, *key)}


def _enum_keys(p: _Plan, schema: str, name: str) -> list[str]:
    """The columns of enum `schema.name` in kept tables (arrays too) that a partition key
    reads, each as `column (key of table)`: PostgreSQL cannot convert them, so the enum
    cannot be rebuilt."""
    return [f"{r.qualified_name}.{column.name} (key of {keyed})"
            for r in p.source.relations
            if r.kind in _TABLE_KINDS and (r.schema, r.name) not in p.dropped_relations
            and not r.partition_of
            for column in r.columns
            if _type_is(column.type, schema, name, p.source.search_path)
            and (keyed := _keyed_by(p, r, column.name)) is not None]


def _mark_users_of_rebuilt_enum(p: _Plan, schema: str, name: str) -> None:
    """Views, indexes, check constraints, policies and trigger WHEN clauses that name the enum
    (`WHERE status = 'live'` is `'live'::status`): the columns' type change would rebuild
    them from their old text and compare the new type with the old ("operator does not
    exist"), and they would keep the old type from being dropped. They are taken off
    before the columns are converted and put back after, as the target has them."""
    def names(text: str | None, kind: str) -> bool:
        return text is not None and _names_type(text, kind, schema, name, p.source.search_path)

    for relation in p.source.relations:
        key = (relation.schema, relation.name)
        if key in p.dropped_relations:
            continue
        if relation.kind in ("view", "materialized_view"):
            # A view naming the type (`'b'::status`) depends on it, not only through columns.
            if names(relation.definition, "query"):
                p.recreate_views.add(key)
            continue
        if relation.kind not in _TABLE_KINDS:
            continue
        for index in relation.indexes:
            # A partition's index goes and comes back with its parent's.
            if not relation.partition_of and not _constraint_index(relation, index.name) \
                    and names(index.definition, "index"):
                _take_off_index(p, relation, index, f"compares with values of enum "
                                f"`{schema}.{name}`, which is rebuilt")
        for constraint in relation.constraints:
            if constraint.kind == "check" and names(constraint.definition, "constraint"):
                _take_off_check(p, relation, constraint)
        for policy in relation.policies:
            if names(policy.using, "expression") or names(policy.with_check, "expression"):
                p.recreate_policies.add((*key, policy.name))
        for trigger in relation.triggers:
            if names(trigger.definition, "trigger"):
                p.recreate_triggers.add((*key, trigger.name))


def _names_type(text: str, kind: str, schema: str, name: str,
                search_path: Sequence[str]) -> bool:
    """Whether an index or trigger definition, a constraint definition or an expression
    (`kind` as for `_columns_read`) names the type `schema.name` (a cast, as PostgreSQL
    writes a literal of it), by pglast's parse; True where it does not parse."""
    from pglast import ast

    tree = parsed_definition(text, kind)
    if tree is None:
        return True
    return any(_type_is(".".join(str(part.sval) for part in node.names
                                 if isinstance(part, ast.String)), schema, name, search_path)
               for node in nodes(tree, ast.TypeName) if node.names)


def _order_types(p: _Plan) -> None:
    """Types created after the types they are made of (a domain over another domain or
    over a composite type, a composite type with a domain attribute), and dropped before
    them; otherwise in the order of the changes."""
    for phase, snapshot, last_first in (("types", p.target, False),
                                        ("drop_types", p.source, True)):
        statements = p.phases.get(phase)
        if statements and len(statements) > 1:
            depth = _type_depths(snapshot)
            statements.sort(key=lambda st: depth.get(st.subject, 0), reverse=last_first)


def _type_depths(snapshot: SchemaSnapshot) -> dict[str, int]:
    """"schema.name" of each user-defined type -> how deep it is built on other user-defined
    types (0: on none)."""
    names: dict[str, str] = {}
    types: list[Enum | Domain | CompositeType | RangeType] = [
        *snapshot.enums, *snapshot.domains, *snapshot.composite_types, *snapshot.range_types]
    for t in types:
        key = f"{t.schema}.{t.name}"
        names[qualify(t.schema, t.name)] = names[key] = key
        if t.schema in snapshot.search_path:
            names[quote(t.name)] = names[t.name] = key
    uses: dict[str, list[str]] = {
        f"{d.schema}.{d.name}": [d.type] for d in snapshot.domains}
    for c in snapshot.composite_types:
        uses[f"{c.schema}.{c.name}"] = [a.type for a in c.attributes]
    for r in snapshot.range_types:
        uses[f"{r.schema}.{r.name}"] = [r.subtype]
    depths: dict[str, int] = {}

    def depth(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key not in depths:
            below = [names[base] for base in (text.rstrip("[]") for text in uses.get(key, ()))
                     if base in names and names[base] not in seen]
            depths[key] = 1 + max((depth(b, seen | {key}) for b in below), default=-1)
        return depths[key]

    for key in set(names.values()):
        depth(key)
    return depths


def _is_subsequence(old: Sequence[str], new: Sequence[str]) -> bool:
    it = iter(new)
    return all(label in it for label in old)


def _type_is(type_text: str, schema: str, name: str, search_path: Sequence[str]) -> bool:
    bare = type_text.removesuffix("[]")
    candidates = {f"{qualify(schema, name)}", f"{schema}.{name}"}
    if schema in search_path:
        candidates |= {quote(name), name}
    return bare in candidates


def _domains(p: _Plan, changes: list[Change]) -> None:
    rebuilt = _rebuilt_domains(p)
    depths = _type_depths(p.target)
    for identity in sorted(rebuilt, key=lambda i: (depths.get(".".join(i), 0), i)):
        domain = _find(p.target.domains, *identity)
        if domain is None:
            continue
        own = [c for c in changes if c.identity == identity and c.action == ALTER
               and c.attribute in ("type", "collation")]
        _rebuild_domain(p, own[0] if own else Change(
            ALTER, "domain", identity, attribute="type", old=domain.type, new=domain.type),
            domain)
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.identity in rebuilt and c.action == ALTER:
            continue  # created again as the target has it
        if c.action == ADD:
            _create_domain(p, c.new)
        elif c.action == DROP:
            # Types are dropped after functions (which take them): a default or CHECK that
            # calls a function the script drops goes first (2BP01 on DROP FUNCTION).
            dropped = _script_functions(p, DROP)
            domain = c.old
            if domain.default is not None and _calls_any(domain.default, dropped, p):
                p.emit("drop_function_users", f"ALTER DOMAIN {qname} DROP DEFAULT",
                       subject=c.subject)
            for constraint in domain.constraints:
                if _calls_any(constraint.definition, dropped, p):
                    p.emit("drop_function_users", f"ALTER DOMAIN {qname} DROP CONSTRAINT "
                           f"{quote(constraint.name)}", subject=c.subject)
            p.emit("drop_types", f"DROP DOMAIN {qname}", subject=c.subject)
        elif c.attribute == "default":
            p.emit("function_users" if c.new is not None and _calls_any(
                c.new, _script_functions(p, ADD), p) else "types", f"ALTER DOMAIN {qname} " + (
                f"SET DEFAULT {c.new}" if c.new is not None else "DROP DEFAULT"),
                subject=c.subject)
        elif c.attribute == "nullable":
            p.emit("types", f"ALTER DOMAIN {qname} {'DROP' if c.new else 'SET'} NOT NULL",
                   *(() if c.new else (Hazard("long-scan", "Checks every column of the domain."),)),
                   subject=c.subject)
        elif c.attribute == "constraints":
            # A constraint whose comment alone differs keeps its place: COMMENT ON it; one
            # dropped and added again gets its comment back (DROP CONSTRAINT took it).
            old = {k.name: k for k in c.old}
            new = {k.name: k for k in c.new}
            remade = {key for key in old.keys() & new.keys()
                      if replace(old[key], comment=None) != replace(new[key], comment=None)}
            for key in sorted(old):
                if key not in new or key in remade:
                    p.emit("drop_constraints",
                           f"ALTER DOMAIN {qname} DROP CONSTRAINT {quote(key)}",
                           subject=c.subject)
            for key in sorted(new):
                if key not in old or key in remade:
                    definition = _strip_not_valid(new[key].definition)
                    p.emit("constraints", f"ALTER DOMAIN {qname} ADD CONSTRAINT {quote(key)} "
                           f"{definition} NOT VALID", subject=c.subject)
                    if new[key].validated:
                        p.emit("constraints",
                               f"ALTER DOMAIN {qname} VALIDATE CONSTRAINT {quote(key)}",
                               _domain_validation_scan(),
                               subject=c.subject)
                    if new[key].comment is not None:
                        _comment_domain_constraint(p, qname, new[key], c.subject)
                elif old[key].comment != new[key].comment:
                    _comment_domain_constraint(p, qname, new[key], c.subject)
        else:
            _alter_common(p, c, "DOMAIN", qname, "T")


def _rebuilt_domains(p: _Plan) -> set[tuple[str, ...]]:
    """The domains rebuilt: those whose base type or collation changes, and those built on
    one of them (`CREATE DOMAIN e AS d`: e would keep the old d), as (schema, name)."""
    rebuilt = {c.identity for c in p.changes if c.kind == "domain" and c.action == ALTER
               and c.attribute in ("type", "collation")}
    grew = bool(rebuilt)
    while grew:
        grew = False
        for domain in p.source.domains:
            key = (domain.schema, domain.name)
            if key not in rebuilt and _find(p.target.domains, *key) is not None and any(
                    _type_is(domain.type, base[0], base[1], p.source.search_path)
                    for base in rebuilt):
                rebuilt.add(key)
                grew = True
    return rebuilt


def _rebuild_domain(p: _Plan, c: Change, domain: Domain) -> None:
    """A domain whose base type or collation changes, which no ALTER DOMAIN does: as an
    enum is rebuilt, the old one is renamed, the new one created, every column of it
    converted (`USING col::domain`, which checks the new constraints on every row), what
    names it taken off and put back, and the old one dropped at the end. (It was dropped
    and created again, which PostgreSQL refuses while a column uses it: 2BP01.)"""
    schema, name = c.identity
    qname = qualify(schema, name)
    keyed = _enum_keys(p, schema, name)
    if keyed:
        p.emit("types", f"-- domain {qname}: rebuilding it is not generated: partition keys "
               f"read columns of it ({', '.join(keyed)})",
               Hazard("not-generated", "PostgreSQL cannot change the type of a column in a "
                      f"partition key: rebuild domain `{c.subject}` (its new {c.attribute}) "
                      "and the tables partitioned by it by hand."), subject=c.subject)
        return
    old_name = f"{name}__dbsafe_old"[:63]
    _mark_users_of_rebuilt_enum(p, schema, name)
    p.emit("rebuild_types", f"ALTER DOMAIN {qname} RENAME TO {quote(old_name)}",
           Hazard("data-loss", f"Rebuilds domain `{c.subject}` for its new {c.attribute}: "
                  "every column of it is converted, which fails on a value the new type or "
                  "its constraints refuse."), subject=c.subject)
    _create_domain(p, domain, phase="rebuild_types")
    _convert_columns(p, schema, name, None)
    p.emit("drop_types", f"DROP DOMAIN {qualify(schema, old_name)}", subject=c.subject)


def _script_functions(p: _Plan, action: str) -> list[Function]:
    """The functions the script creates (`ADD`) or drops (`DROP`)."""
    return [c.new if action == ADD else c.old for c in p.changes
            if c.kind == "function" and c.action == action]


def _calls_any(expression: str, functions: Sequence[Function], p: _Plan) -> bool:
    """Whether a domain's default or CHECK (`CHECK (...)`) calls one of `functions`."""
    sql = f"ALTER DOMAIN x ADD {expression}" if expression.startswith("CHECK") \
        else f"SELECT {expression}"
    return any(_calls(sql, f, p.target.search_path) for f in functions)


def _create_domain(p: _Plan, domain: Domain, phase: str = "types") -> None:
    qname = qualify(domain.schema, domain.name)
    subject = f"{domain.schema}.{domain.name}"
    # Types come before functions (which take them): a default or CHECK calling a function
    # the script creates is added to the domain once that function exists (42883 before);
    # ADD CONSTRAINT then checks the columns given the domain in between.
    created = _script_functions(p, ADD)

    def waits(expression: str) -> bool:
        return _calls_any(expression, created, p)

    sql = f"CREATE DOMAIN {qname} AS {domain.type}"
    if domain.collation:
        sql += f" COLLATE {domain.collation}"
    if domain.default is not None:
        if waits(domain.default):
            p.emit("function_users", f"ALTER DOMAIN {qname} SET DEFAULT {domain.default}",
                   subject=subject)
        else:
            sql += f" DEFAULT {domain.default}"
    if not domain.nullable:
        sql += " NOT NULL"
    for constraint in domain.constraints:
        if waits(constraint.definition):
            p.emit("function_users", f"ALTER DOMAIN {qname} ADD CONSTRAINT "
                   f"{quote(constraint.name)} {constraint.definition}", subject=subject)
        else:
            sql += f" CONSTRAINT {quote(constraint.name)} {constraint.definition}"
    p.emit(phase, sql, subject=subject)
    for constraint in domain.constraints:
        if constraint.comment is not None:
            _comment_domain_constraint(p, qname, constraint, subject)
    _comment_acl_owner(p, "DOMAIN", qname, domain, "T", created=True)


def _comment_domain_constraint(p: _Plan, qname: str, constraint: DomainConstraint,
                               subject: str) -> None:
    """`COMMENT ON CONSTRAINT ... ON DOMAIN` as the target has it (NULL: none)."""
    p.emit("comments", f"COMMENT ON CONSTRAINT {quote(constraint.name)} ON DOMAIN {qname} IS "
           f"{_text(constraint.comment)}",
           subject=subject)


def _composites(p: _Plan, changes: list[Change]) -> None:
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.action == ADD:
            _create_composite(p, c.new)
        elif c.action == DROP:
            p.emit("drop_types", f"DROP TYPE {qname}", subject=c.subject)
        elif c.attribute == "attributes":
            old = {a.name: a for a in c.old}
            new = {a.name: a for a in c.new}
            actions = [f"DROP ATTRIBUTE {quote(n)}" for n in old if n not in new]
            actions += [f"ADD ATTRIBUTE {quote(a.name)} {_attribute_type(a)}" for a in c.new
                        if a.name not in old]
            # (a collation made again: the attribute is given the new one)
            remade = _remade_collations(p)
            retyped = [f"ALTER ATTRIBUTE {quote(n)} TYPE {_attribute_type(new[n])}" for n in old
                       if n in new and (old[n].type != new[n].type
                                        or old[n].collation != new[n].collation
                                        or new[n].collation in remade)]
            used_by = _columns_of_type(p, schema, name)
            if used_by and retyped:
                # PostgreSQL cannot convert the values a column of the type holds.
                p.emit("types", f"-- composite type {qname}: {', '.join(retyped)} is not "
                       f"generated: columns use the type ({', '.join(used_by)})",
                       Hazard("not-generated", f"Change the attribute types of `{c.subject}` "
                              "by hand (a new type, the columns converted to it)."),
                       subject=c.subject)
                retyped = []
            if actions or retyped:
                p.emit("types", f"ALTER TYPE {qname} " + ", ".join(actions + retyped),
                       *((Hazard("data-loss", f"Drops attributes of `{c.subject}`."),)
                         if any(n not in new for n in old) else ()),
                       subject=c.subject)
        else:
            _alter_common(p, c, "TYPE", qname, "T")


# What CREATE TYPE ... AS RANGE sets that no ALTER TYPE changes.
_RANGE_REMADE = ("subtype", "multirange", "opclass", "collation", "canonical", "subtype_diff")


def _range_types(p: _Plan, changes: list[Change]) -> None:
    """CREATE TYPE ... AS RANGE with the types, DROP TYPE with them (its constructors and
    multirange type go with it). One whose definition changes, or that needs a canonical
    function (made after a shell type of it) or a subtype_diff function the script
    creates, is named `not-generated`."""
    created = {qualify(c.identity[0], c.identity[1].partition("(")[0]) for c in p.changes
               if c.kind == "function" and c.action == ADD}
    reported: set[tuple[str, ...]] = set()
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.action == DROP:
            p.emit("drop_types", f"DROP TYPE {qname}",
                   Hazard("data-loss", f"Drops range type `{c.subject}`."), subject=c.subject)
            continue
        new: RangeType | None = next((r for r in p.target.range_types
                                      if (r.schema, r.name) == (schema, name)), None)
        if new is None:
            continue
        by_hand = c.action == ALTER and c.attribute in _RANGE_REMADE
        if c.action == ADD and (new.canonical or new.subtype_diff in created):
            by_hand = True
        if by_hand:
            if c.identity not in reported:
                reported.add(c.identity)
                p.emit("types", f"-- range type {qname} is not generated",
                       Hazard("not-generated", f"Create range type `{c.subject}` as the "
                              "target has it by hand (a new definition, or a canonical or "
                              "subtype_diff function of its own)."), subject=c.subject)
            continue
        if c.action == ADD:
            options = [f"subtype = {new.subtype}"]
            options += [f"{key} = {value}" for key, value in (
                ("subtype_opclass", new.opclass), ("collation", new.collation),
                ("subtype_diff", new.subtype_diff)) if value]
            if new.multirange:
                options.append(f"multirange_type_name = {new.multirange}")
            p.emit("types", f"CREATE TYPE {qname} AS RANGE ({', '.join(options)})",
                   subject=c.subject)
            _comment_acl_owner(p, "TYPE", qname, new, "T", created=True)
        else:
            _alter_common(p, c, "TYPE", qname, "T")


def _attribute_type(attribute: Column) -> str:
    """A composite type's attribute's type, with its collation where it has its own."""
    return attribute.type + (f" COLLATE {attribute.collation}" if attribute.collation else "")


def _remade_collations(p: _Plan) -> set[str]:
    """The collations the plan makes again, as a column's collation names them."""
    return {qualify(*c.identity) for c in p.changes if c.kind == "collation"
            and c.action == ALTER and c.attribute in _COLLATION_REMADE
            and c.identity not in p.held_collations}


def _columns_of_type(p: _Plan, schema: str, name: str) -> list[str]:
    """The table columns of the source (tables this plan keeps) whose type is `schema.name`
    or an array of it."""
    return [f"{r.qualified_name}.{column.name}" for r in p.source.relations
            if r.kind in _TABLE_KINDS and (r.schema, r.name) not in p.dropped_relations
            for column in r.columns
            if _type_is(column.type, schema, name, p.source.search_path)]


def _create_composite(p: _Plan, composite: CompositeType) -> None:
    qname = qualify(composite.schema, composite.name)
    attributes = ", ".join(f"{quote(a.name)} {_attribute_type(a)}"
                           for a in composite.attributes)
    p.emit("types", f"CREATE TYPE {qname} AS ({attributes})",
           subject=f"{composite.schema}.{composite.name}")
    _comment_acl_owner(p, "TYPE", qname, composite, "T", created=True)


def _sequences(p: _Plan, changes: list[Change]) -> None:
    # A sequence's changed options go in one ALTER SEQUENCE: one at a time, a new MINVALUE
    # may be refused against the old START before the new START comes.
    options: dict[tuple[str, str, str, str], list[str]] = {}
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.action == ADD:
            sequence: SequenceObject = c.new
            if _identity_sequence(p.target, sequence):
                # Created by its identity column, owned by the column's table.
                _comment_acl_owner(p, "SEQUENCE", qname, sequence, "s", created=False)
                continue
            _create_sequence(p, sequence, c.subject)
        elif c.action == DROP:
            sequence = c.old
            if sequence.owned_by:
                table = ".".join(sequence.owned_by.split(".")[:2])
                column = sequence.owned_by
                if _split(table) in p.dropped_relations or _column_dropped(p, column):
                    continue  # goes with the table or column that owns it
                if _identity_sequence(p.source, sequence):
                    continue  # goes with DROP IDENTITY
            p.emit("drop_sequences", f"DROP SEQUENCE {qname}",
                   *_possible_sequence_rename(p, sequence), subject=c.subject)
        elif c.attribute == "name":  # renamed or moved (`diff.renamed_sequences`)
            if _made_again_by_identity_change(p, _source_sequence(p, schema, name),
                                              _find(p.target.sequences, schema, name)):
                continue  # its column's change drops it and makes the new one
            _rename_sequence(p, c)
        elif c.attribute == "owned_by":
            old = _find(p.source.sequences, schema, name)
            new = _find(p.target.sequences, schema, name)
            if _moved_across_identity(p, old, new):
                # Its name moves to another column, between an identity's sequence and
                # another (OWNED BY of an identity's is refused): the old one goes out of
                # the way first. The identity taking the name makes it (ADD GENERATED, ADD
                # COLUMN; 42P07 while the old one stands), a serial's is created here; the
                # old one is dropped at the end if nothing took it along (its column, DROP
                # IDENTITY). Its counter stays with it: the values are another column's.
                kept = f"{name}__dbsafe_old"[:63]
                p.emit("sequences", f"ALTER SEQUENCE {qname} RENAME TO {quote(kept)}",
                       subject=c.subject)
                if new is not None and not _identity_sequence(p.target, new):
                    _create_sequence(p, new, c.subject)
                if old is not None and not _identity_sequence(p.source, old):
                    p.emit("drop_sequences", f"DROP SEQUENCE IF EXISTS "
                           f"{qualify(schema, kept)}", subject=c.subject)
                continue
            if _identity_sequence(p.source, old):
                continue
            if not c.new and _moved_owned_sequence(p, c.identity):
                continue  # let go of before its move
            p.emit("sequence_owners", f"ALTER SEQUENCE {qname} OWNED BY " + (
                _column_ref(c.new) if c.new else "NONE"), subject=c.subject)
        elif c.attribute in ("data_type", "start", "increment", "min_value", "max_value",
                             "cache", "cycle"):
            new = _find(p.target.sequences, schema, name)
            if _identity_sequence(p.target, new) and _identity_column(p.target, new) is None:
                continue
            if _made_again_by_identity_change(p, _source_sequence(p, schema, name), new) \
                    or _moved_across_identity(p, _find(p.source.sequences, schema, name), new):
                continue
            options.setdefault((qname, c.subject, schema, name), []).append(
                _sequence_option(c.attribute, new))
        elif c.attribute == "owner" and _owning_table(_find(p.target.sequences, schema, name)):
            continue  # the owning table's OWNER TO takes it along (alone, PostgreSQL refuses)
        elif c.attribute in ("acl", "comment") and _made_again_by_identity_change(
                p, _source_sequence(p, schema, name), _find(p.target.sequences, schema, name)):
            continue  # made again by its column's change, with the target's (`_alter_column`)
        else:
            _alter_common(p, c, "SEQUENCE", qname, "s")
    for (qname, subject, schema, name), changed in options.items():
        new = _find(p.target.sequences, schema, name)
        restart, hazards = _counter_outside_bounds(
            p, qname, _find(p.source.sequences, schema, name), new, subject)
        p.emit("sequences", f"ALTER SEQUENCE {qname}{''.join(changed)}"
               + (" RESTART" if restart else ""), *hazards, subject=subject)


def _create_sequence(p: _Plan, sequence: SequenceObject, subject: str) -> None:
    """CREATE SEQUENCE with the target's options, owner, grants, comment and OWNED BY."""
    qname = qualify(sequence.schema, sequence.name)
    p.emit("sequences", f"CREATE SEQUENCE {qname}{_sequence_options(sequence)}",
           subject=subject)
    owning = _owning_table(sequence)
    if owning is not None and owning in p.created_relations:
        # PostgreSQL refuses ALTER SEQUENCE ... OWNER TO of a sequence linked to a
        # table of another owner; the table's OWNER TO takes its sequences along.
        _comment_acl_owner(p, "SEQUENCE", qname, sequence, "s", created=False)
    elif owning is not None:
        # OWNED BY an existing table wants the sequence to have the table's owner.
        if sequence.owner and p.default_owner and sequence.owner != p.default_owner:
            p.emit("sequence_owners", f"ALTER SEQUENCE {qname} OWNER TO "
                   f"{quote(sequence.owner)}", subject=subject)
        _comment_acl_owner(p, "SEQUENCE", qname, sequence, "s", created=False)
    else:
        _comment_acl_owner(p, "SEQUENCE", qname, sequence, "s", created=True)
    if sequence.owned_by:
        p.emit("sequence_owners", f"ALTER SEQUENCE {qname} OWNED BY "
               f"{_column_ref(sequence.owned_by)}", subject=subject)


def _counter_outside_bounds(p: _Plan, qname: str, old: SequenceObject | None,
                            new: SequenceObject | None, subject: str,
                            ) -> tuple[bool, tuple[Hazard, ...]]:
    """New bounds that may leave out the sequence's counter: PostgreSQL refuses them then
    (22023, `RESTART value (30) cannot be greater than MAXVALUE (9)`), a sequence never used
    too (its counter is its START). Returns whether the `ALTER SEQUENCE` ends in `RESTART`,
    and its hazards.

    Where every value it can have given lies beyond the new bounds it restarts at the new
    START: with no hazard where the old and new bounds do not meet (no value it ever gave,
    setval or CYCLE aside, lies inside them), a `data-loss` one where they do (counting up
    from a START above the new MAXVALUE, or down from one below the new MINVALUE: a value
    it gave after a setval or a CYCLE may come again). Where only a counter not yet past the
    new MINVALUE (the new MAXVALUE counting down) is left out, it is moved there first
    (setval), which is past every value given, but for a CYCLE sequence's (a `data-loss`
    hazard: it may have come round after giving them). A counter the sequence may have taken past
    the new MAXVALUE (below the new MINVALUE counting down) is data the snapshot does not
    hold: the statement then fails, which a `may-fail` hazard says; a RESTART would hand
    out values it gave again."""
    if old is None or new is None or old.start is None or old.min_value is None \
            or old.max_value is None or new.min_value is None or new.max_value is None:
        return False, ()
    start, low, high = old.start, new.min_value, new.max_value
    up = (old.increment or 1) > 0
    if old.max_value < low or old.min_value > high:
        return True, ()
    if (up and start > high) or (not up and start < low):
        first = new.start if new.start is not None else (
            low if (new.increment or 1) > 0 else high)
        return True, (Hazard("data-loss", f"Its counter starts again at {first}: every "
                             f"value it can have reached counting from {start} lies outside "
                             f"its new bounds ({low} to {high}), which PostgreSQL refuses "
                             "while the counter does (22023). A value it gave after a setval "
                             "or a CYCLE back inside them may come again (duplicate keys)."),)
    edge, beyond = (low, "<") if up else (high, ">")
    if (up and start < edge) or (not up and start > edge):
        p.emit("sequences", f"SELECT setval({literal(qname)}, {edge}, false) FROM {qname} "
               f"WHERE last_value {beyond} {edge}", *_wrapped_counter(old, edge, up),
               subject=subject)
    if up and old.max_value > high:
        return False, (_counter_past_bound(qname, "above its new MAXVALUE", high),)
    if not up and old.min_value < low:
        return False, (_counter_past_bound(qname, "below its new MINVALUE", low),)
    return False, ()


def _wrapped_counter(old: SequenceObject, edge: int, up: bool) -> tuple[Hazard, ...]:
    """The hazard of moving a CYCLE sequence's counter to its new MINVALUE (MAXVALUE counting
    down): one not yet past it may have come round from the other bound, after handing out
    the values past it, which then come again."""
    if not old.cycle:
        return ()
    bound, side = ("MAXVALUE", "from") if up else ("MINVALUE", "down to")
    return (Hazard("data-loss", f"It cycles: a counter short of {edge} may have come round "
                   f"past its old {bound}, after giving the values {side} {edge}, which this "
                   "hands out again (an insert fails, 23505, where one is still taken)."),)


def _counter_past_bound(qname: str, where: str, bound: int) -> Hazard:
    """The `may-fail` hazard of new bounds that leave out a counter the snapshot does not
    hold (a sequence's current value is data, not schema)."""
    return Hazard("may-fail", f"Fails (22023) if its counter is {where} ({bound}): "
                  f"`SELECT last_value FROM {qname}` tells. It is not restarted, which "
                  "would hand out values it gave again (duplicate keys).")


def _rename_sequence(p: _Plan, change: Change) -> None:
    """A sequence renamed, moved to another schema, or both (`diff.renamed_sequences`):
    `RENAME TO`, then `SET SCHEMA`, so its counter goes on (dropped and created, it started
    again and the next id collided with the rows'). PostgreSQL refuses to move a sequence
    `OWNED BY` a column on its own (0A000, 'cannot move an owned sequence into another
    schema') and to tie one to a table of another schema (55000): one the source's column
    owns is let go of (`OWNED BY NONE`) before the move, which its `owned_by` change says.
    A relation name is unique in its schema (42P07 half way): where another relation of the
    old schema has the new name, it moves first and is renamed in the new schema; where
    neither order finds its names free, nothing is generated."""
    (schema, name), = [a for a, b in renamed_sequences(p.source, p.target).items()
                       if b == tuple(change.identity)]
    new_schema, new_name = change.identity
    taken = _relation_names_at_sequences(p)
    rename_first = name == new_name or (schema, new_name) not in taken
    if (schema != new_schema and (new_schema, new_name) in taken) \
            or not (rename_first or (new_schema, name) not in taken):
        held = [key for key in ((schema, new_name), (new_schema, new_name), (new_schema, name))
                if key != (schema, name) and key in taken]
        p.emit("sequences", f"-- sequence {qualify(schema, name)}: its rename to "
               f"{qualify(new_schema, new_name)} is not generated",
               Hazard("not-generated", f"`{qualify(*held[0])}` already exists while the "
                      f"script renames `{qualify(schema, name)}` (42P07: a relation name is "
                      "unique in its schema): rename or drop it first, then rename and move "
                      "the sequence by hand, keeping its counter."), subject=change.subject)
        return
    if rename_first and name != new_name:
        p.emit("sequences", f"ALTER SEQUENCE {qualify(schema, name)} RENAME TO "
               f"{quote(new_name)}", subject=change.subject)
        name = new_name
    if schema != new_schema:
        if _moved_owned_sequence(p, change.identity):
            p.emit("sequences", f"ALTER SEQUENCE {qualify(schema, name)} OWNED BY NONE",
                   subject=change.subject)
        p.emit("sequences", f"ALTER SEQUENCE {qualify(schema, name)} SET SCHEMA "
               f"{quote(new_schema)}", subject=change.subject)
    if name != new_name:
        p.emit("sequences", f"ALTER SEQUENCE {qualify(new_schema, name)} RENAME TO "
               f"{quote(new_name)}", subject=change.subject)


def _relation_names_at_sequences(p: _Plan) -> set[tuple[str, str]]:
    """The (schema, name)s pg_class holds when the script's sequences phase runs: the
    source's tables, views, indexes, sequences and composite types (nothing is dropped
    yet), and the composite types the types phase created before it."""
    names = {(r.schema, n) for r in p.source.relations
             for n in (r.name, *(i.name for i in r.indexes))}
    names |= {(s.schema, s.name) for s in p.source.sequences}
    names |= {(t.schema, t.name) for snapshot in (p.source, p.target)
              for t in snapshot.composite_types}
    return names


def _moved_owned_sequence(p: _Plan, identity: tuple[str, ...]) -> bool:
    """Whether the sequence `identity` names is one the source has `OWNED BY` a column in
    another schema (`diff.renamed_sequences`): `_rename_sequence` lets go of it."""
    return any(c.attribute == "owned_by" and c.old and c.old.split(".")[0] != identity[0]
               for c in p.changes_of(identity) if c.kind == "sequence") \
        and any(c.attribute == "name" and c.kind == "sequence"
                for c in p.changes_of(identity))


def _possible_sequence_rename(p: _Plan, sequence: SequenceObject) -> tuple[Hazard, ...]:
    """A `possible-rename` hint where a sequence of the dropped one's schema and parameters
    is created (not tied to the same column, or `diff` would have renamed it): created, it
    starts again, and a column its nextval() fills gets ids its rows already have."""
    def parameters(s: SequenceObject) -> tuple[Any, ...]:
        return (s.schema, s.data_type, s.start, s.increment, s.min_value, s.max_value,
                s.cache, s.cycle)

    for c in p.changes:
        if c.kind == "sequence" and c.action == ADD \
                and parameters(c.new) == parameters(sequence):
            return (Hazard("possible-rename", f"`{c.subject}` is created with the same "
                           f"parameters: if this is a rename, use ALTER SEQUENCE "
                           f"{qualify(sequence.schema, sequence.name)} RENAME TO "
                           f"{quote(c.new.name)} instead and keep its counter; created, it "
                           f"starts again at {sequence.start if sequence.start is not None else 1}"
                           f", and a column it numbers gets ids its rows already have "
                           f"(duplicate keys)."),)
    return ()


def _owning_table(sequence: SequenceObject | None) -> tuple[str, str] | None:
    """The table whose column owns `sequence` (serial, identity, `OWNED BY`)."""
    if sequence is None or not sequence.owned_by:
        return None
    schema, table, _column = sequence.owned_by.split(".", 2)
    return schema, table


def _sequence_options(s: SequenceObject) -> str:
    parts = [f" AS {s.data_type}"]
    if s.increment is not None:
        parts.append(f" INCREMENT BY {s.increment}")
    if s.min_value is not None:
        parts.append(f" MINVALUE {s.min_value}")
    if s.max_value is not None:
        parts.append(f" MAXVALUE {s.max_value}")
    if s.start is not None:
        parts.append(f" START WITH {s.start}")
    if s.cache is not None:
        parts.append(f" CACHE {s.cache}")
    parts.append(" CYCLE" if s.cycle else " NO CYCLE")
    return "".join(parts)


def _sequence_option(attribute: str, s: SequenceObject) -> str:
    value = getattr(s, attribute)
    return {
        "data_type": f" AS {s.data_type}",
        "start": f" START WITH {value}",
        "increment": f" INCREMENT BY {value}",
        "min_value": f" MINVALUE {value}",
        "max_value": f" MAXVALUE {value}",
        "cache": f" CACHE {value}",
        "cycle": " CYCLE" if value else " NO CYCLE",
    }[attribute]


def _identity_options(p: _Plan, relation: Relation, column: Column) -> str:
    """The options of the sequence behind identity `column` as the target has them, as
    pg_dump writes them: its name (a table renamed since keeps its sequence's old name) and
    every parameter, so a START WITH 5 INCREMENT BY 3 is not created as 1 and 1."""
    if not column.identity:
        return ""
    if p.identity_sequences is None:
        p.identity_sequences = {s.owned_by: s for s in p.target.sequences if s.owned_by}
    sequence = p.identity_sequences.get(f"{relation.schema}.{relation.name}.{column.name}")
    if sequence is None:
        return ""
    options = _sequence_options(sequence)
    if sequence.data_type == column.type:  # the column's type is the sequence's by default
        options = options.removeprefix(f" AS {sequence.data_type}")
    return f" (SEQUENCE NAME {qualify(sequence.schema, sequence.name)}{options})"


def _made_again_by_identity_change(p: _Plan, old: SequenceObject | None,
                                   new: SequenceObject | None) -> bool:
    """Whether the sequence is dropped and made again under its name, with the target's
    options, by its column's change between serial and identity (`_alter_column`: the old
    one renamed or dropped, `ADD GENERATED` or `CREATE SEQUENCE`, the old one's counter
    read, then `DROP SEQUENCE` or `DROP IDENTITY`): an `ALTER
    SEQUENCE` of its options before that is undone by it (a serial made an identity `START
    WITH 1000` got `ALTER SEQUENCE ... START WITH 1000` of the old sequence, task 563)."""
    if old is None or new is None or not new.owned_by or old.owned_by != new.owned_by \
            or _identity_sequence(p.source, old) == _identity_sequence(p.target, new):
        return False
    identity = tuple(new.owned_by.split(".", 2))
    if identity[:2] in p.created_relations or identity[:2] in p.dropped_relations:
        return False
    return any(c.attribute == "identity" and bool(c.old) != bool(c.new)
               for c in p.changes_of(identity))


def _source_sequence(p: _Plan, schema: str, name: str) -> SequenceObject | None:
    """The source's sequence that the target's `schema.name` is: of that name, or renamed
    or moved to it (`diff.renamed_sequences`)."""
    found = _find(p.source.sequences, schema, name)
    if found is not None or _find(p.target.sequences, schema, name) is None:
        return found
    return next((_find(p.source.sequences, *a) for a, b in
                 renamed_sequences(p.source, p.target).items() if b == (schema, name)), None)


def _moved_across_identity(p: _Plan, old: SequenceObject | None,
                           new: SequenceObject | None) -> bool:
    """Whether a sequence's name moves to another column, from an identity's sequence to
    one no identity has (a serial's, or owned by no column) or back: what the name stands
    for is made again, with the target's options, once the old one is out of its way."""
    return old is not None and new is not None and old.owned_by != new.owned_by \
        and _identity_sequence(p.source, old) != _identity_sequence(p.target, new)


def _identity_sequence(snapshot: SchemaSnapshot, sequence: SequenceObject | None) -> bool:
    return sequence is not None and _identity_column(snapshot, sequence) is not None


def _identity_column(snapshot: SchemaSnapshot, sequence: SequenceObject) -> Column | None:
    if not sequence.owned_by:
        return None
    schema, table, column_name = sequence.owned_by.split(".", 2)
    relation = snapshot.relation(schema, table)
    column = relation.column(column_name) if relation else None
    return column if column is not None and column.identity else None


def _column_ref(dotted: str) -> str:
    schema, table, column = dotted.split(".", 2)
    return f"{qualify(schema, table)}.{quote(column)}"


def _column_dropped(p: _Plan, dotted: str) -> bool:
    identity = tuple(dotted.split(".", 2))
    return any(c.kind == "column" and c.action == DROP and c.identity == identity
               for c in p.changes)


# -- functions ---------------------------------------------------------------------------------


def _functions(p: _Plan, changes: list[Change], relation_changes: list[Change]) -> None:
    new_types = {c.identity for c in relation_changes if c.action == ADD}
    replaced: set[tuple[str, ...]] = set()
    for c in changes:
        if c.action == ALTER and (c.attribute in ("returns", "kind") or (
                c.attribute != "comment" and _replace_needed(
                    _function_by_identity(p.source, c.identity),
                    _function_by_identity(p.target, c.identity)))):
            replaced.add(c.identity)
    reshaped = _reshaped_relations(p, relation_changes)
    rebuilt = _rebuilt_enums(p)
    # Functions unchanged themselves that must still be dropped and created again: their
    # SQL-standard body reads a table whose columns change, or they take or return an enum
    # that is rebuilt (the hazard says why).
    enum_users: dict[tuple[str, ...], str] = {}
    for unchanged in p.source.functions:
        identity = function_identity(unchanged)
        if identity in replaced:
            continue
        uses_enum = False
        if not (_atomic_reads(unchanged, p.source) & reshaped):
            uses_enum = bool(rebuilt) and any(
                _mentions_relation(text, rebuilt, p.source.search_path)
                for text in (unchanged.returns, *(a.type for a in unchanged.arguments)))
            if not uses_enum:
                continue
        again = next((f for f in p.target.functions if function_identity(f) == identity), None)
        if again is None:
            continue  # dropped: `drop_row_functions` (below) goes before the relations
        replaced.add(identity)
        if uses_enum:
            enum_users[identity] = "takes or returns an enum or domain that is rebuilt"
        if not any(c.identity == identity for c in changes):
            changes = [*changes, Change(ALTER, "function", identity, attribute="definition",
                                        old=unchanged.definition, new=again.definition)]
    # Aggregates built on a function dropped and created again (or giving way to another
    # overload of its name, dropped first below): its DROP FUNCTION fails while they stand
    # (2BP01), so they are dropped before it and created after. A SQL-standard body that
    # calls one of them (an aggregate too) holds it alike (2BP01): it goes and comes back
    # with it, and so on up its own callers.
    added = {(c.new.schema, c.new.name) for c in changes if c.action == ADD}
    early_names = {(c.old.schema, c.old.name) for c in changes if c.action == DROP
                   and c.old.kind != "aggregate" and (c.old.schema, c.old.name) in added}
    targets = {function_identity(f): f for f in p.target.functions}
    callers = {function_identity(f) for f in p.source.functions if _atomic(f)}
    early_functions = [c.old for c in changes if c.action == DROP
                       and (c.old.schema, c.old.name) in added]
    fresh = [f for f in p.source.functions if function_identity(f) in replaced] \
        + early_functions
    while fresh:
        remade = {(f.schema, f.name) for f in fresh if f.kind != "aggregate"} | early_names
        early_names = set()
        grown: list[Function] = []
        for holder in p.source.functions:
            identity = function_identity(holder)
            again = targets.get(identity)
            if identity in replaced or again is None:
                continue
            if holder.kind == "aggregate" and remade \
                    and _aggregate_uses(holder, remade, p.source.search_path):
                enum_users[identity] = "is built on a function that is dropped and created again"
            elif identity in callers and any(
                    _calls(holder.definition or "", callee, p.source.search_path)
                    for callee in fresh):
                enum_users[identity] = ("calls, in its SQL-standard body, a function that is "
                                        "dropped and created again")
            else:
                continue
            replaced.add(identity)
            grown.append(holder)
            if not any(c.identity == identity for c in changes):
                changes = [*changes, Change(ALTER, "function", identity, attribute="definition",
                                            old=holder.definition, new=again.definition)]
        fresh = grown
    done: set[tuple[str, ...]] = set()
    # pg_get_function_identity_arguments includes argument names, but PostgreSQL tells
    # overloads apart by types only: a renamed argument must be dropped before it is created.
    added_types = {_type_key(c.new) for c in changes if c.action == ADD}
    added_names = {(c.new.schema, c.new.name) for c in changes if c.action == ADD}
    # A SQL-standard body dropped that calls an aggregate dropped (or calls such a body)
    # goes with the aggregates, before them (2BP01 otherwise).
    dropped = [c.old for c in changes if c.action == DROP]
    with_aggregates = {function_identity(f) for f in dropped if f.kind == "aggregate"}
    going = [f for f in dropped if f.kind == "aggregate"]
    while going:
        going = [f for f in dropped if function_identity(f) not in with_aggregates
                 and _atomic(f) and any(_calls(f.definition or "", g, p.source.search_path)
                                        for g in going)]
        with_aggregates |= {function_identity(f) for f in going}
    for c in changes:
        if c.action == ADD:
            _create_function(p, c.new, new_types)
        elif c.action == DROP:
            function: Function = c.old
            # Dropped first: a new overload takes its types, or its name (with the old one
            # still there, a call may not tell them apart, and the views, defaults and
            # checks that call it are created again for the new one), or its SQL-standard
            # body would stop its tables or columns from being dropped or changed.
            early = _type_key(function) in added_types \
                or (function.schema, function.name) in added_names \
                or bool(_atomic_reads(function, p.source) & reshaped)
            if early:
                _mark_function_dependents(p, function)
            dropped_types = {x.identity for x in relation_changes if x.action == DROP}
            row_function = any(_mentions_relation(text, dropped_types, p.source.search_path)
                               for text in (function.returns,
                                            *(a.type for a in function.arguments)))
            hazards = [Hazard("access-exclusive-lock", f"`{c.subject}` gives way to another "
                              "overload of its name: it is dropped first, and what calls it is "
                              "taken off and put back for the new one; callers fail in "
                              "between.")] \
                if (function.schema, function.name) in added_names else []
            p.emit("drop_aggregates" if function_identity(function) in with_aggregates else
                   "drop_replaced_functions" if early else
                   "drop_row_functions" if row_function else "drop_functions",
                   f"DROP {_routine_word(function)} {_function_ref(function)}", *hazards,
                   subject=c.subject)
        elif c.identity in replaced:
            if c.identity in done:
                continue
            done.add(c.identity)
            old = _function_by_identity(p.source, c.identity)
            new = _function_by_identity(p.target, c.identity)
            _mark_function_dependents(p, old)
            # (before the functions an aggregate is built on, after its SQL-standard
            # callers: `_callees_first` orders them)
            p.emit("drop_replaced_functions", f"DROP {_routine_word(old)} {_function_ref(old)}",
                   Hazard("access-exclusive-lock", f"`{c.subject}` " + enum_users.get(
                          c.identity, "changes what CREATE OR REPLACE cannot (its result "
                          "type, output arguments or argument defaults), or its SQL-standard "
                          "body reads a table whose columns change") + ": it is dropped and "
                          "created again; callers fail in between."),
                   subject=c.subject)
            _create_function(p, new, new_types, created=True)
        elif c.attribute == "definition":
            new = _function_by_identity(p.target, c.identity)
            if new.definition is None:
                continue
            if c.identity not in done:
                p.emit("aggregates" if new.kind == "aggregate" else
                       "functions_late" if _reads_relations(new, p.target) else
                       "functions_early", new.definition, subject=c.subject)
        else:
            function = _function_by_identity(p.target, c.identity)
            _alter_common(p, c, _routine_word(function), _function_ref(function), "f")
    _callees_first(p)


# The options of CREATE AGGREGATE that name a function.
_AGGREGATE_FUNCTIONS = frozenset({"sfunc", "finalfunc", "combinefunc", "serialfunc",
                                  "deserialfunc", "msfunc", "minvfunc", "mfinalfunc"})


def _aggregate_uses(aggregate: Function, functions: set[tuple[str, str]],
                    search_path: Sequence[str]) -> bool:
    """Whether `aggregate` (its CREATE AGGREGATE as introspection writes it) is built on one
    of `functions` ((schema, name)): named qualified, or alone where its schema is on the
    search path; one that does not parse is taken to be."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        statement = parse_sql(aggregate.definition or "")[0].stmt
    except (ParseError, IndexError):
        return True
    if not isinstance(statement, ast.DefineStmt):
        return True
    for option in statement.definition or ():
        if option.defname not in _AGGREGATE_FUNCTIONS or not hasattr(option.arg, "names"):
            continue
        parts = tuple(str(name.sval) for name in option.arg.names)
        if parts in functions or (len(parts) == 1 and any(
                (schema, parts[0]) in functions for schema in search_path)):
            return True
    return False


def _callees_first(p: _Plan) -> None:
    """Put each SQL-standard body after the functions it calls that the script creates,
    and drop it before the functions it calls that the script drops: PostgreSQL resolves
    its calls when it is created (`check_function_bodies = off` does not defer them) and
    keeps them from being dropped under it, so `RETURN schema_1.add(a, b)` created before
    `schema_1.add` failed (42883), and dropped after it too (2BP01). A caller of a function
    created with the tables moves there too, and one of an aggregate the script creates
    after the aggregates; an aggregate dropped and created again is dropped after its
    callers and before the functions it is built on; otherwise the order stays (by name)."""
    early, late = p.phases.get("functions_early", []), p.phases.get("functions_late", [])
    aggregates = p.phases.get("aggregates", [])
    by_signature = {f.signature: f for f in p.target.functions}
    made = {id(s): by_signature[s.subject] for s in (*early, *late, *aggregates)
            if s.subject in by_signature and s.sql == by_signature[s.subject].definition}
    if any(_atomic(f) for f in made.values()):
        needs = _atomic_calls([s for s in (*early, *late, *aggregates) if id(s) in made],
                              made, p.target.search_path)
        late_ids = {id(s) for s in late}
        after_ids = {id(s) for s in aggregates}
        order = [s for s in _topological([*early, *late], needs) if id(s) not in after_ids]
        for statement in order:  # (callees come first)
            if any(id(callee) in late_ids for callee in needs.get(id(statement), ())):
                late_ids.add(id(statement))
        moved = set()
        for statement in order:
            if any(id(callee) in after_ids for callee in needs.get(id(statement), ())):
                after_ids.add(id(statement))
                moved.add(id(statement))
        p.phases["functions_early"] = [s for s in order
                                       if id(s) not in late_ids and id(s) not in moved]
        p.phases["functions_late"] = [s for s in order if id(s) in late_ids
                                      and id(s) not in moved]
        if moved:
            p.phases["function_users"] = [s for s in order if id(s) in moved] \
                + p.phases.get("function_users", [])
    by_signature = {f.signature: f for f in p.source.functions}
    for phase in ("drop_aggregates", "drop_replaced_functions", "drop_row_functions",
                  "drop_functions"):
        drops = p.phases.get(phase, [])
        gone = {id(s): by_signature[s.subject] for s in drops
                if s.subject in by_signature and s.sql.startswith("DROP ")}
        if not any(_atomic(f) or f.kind == "aggregate" for f in gone.values()):
            continue
        calls = _atomic_calls([s for s in drops if id(s) in gone], gone,
                              p.source.search_path)
        for statement in drops:
            aggregate = gone.get(id(statement))
            if aggregate is not None and aggregate.kind == "aggregate":
                calls[id(statement)] = [t for t in drops if id(t) in gone and _aggregate_uses(
                    aggregate, {(gone[id(t)].schema, gone[id(t)].name)}, p.source.search_path)
                    and gone[id(t)].kind != "aggregate"]
        callers: dict[int, list[Statement]] = {}
        for statement in drops:
            for callee in calls.get(id(statement), ()):
                callers.setdefault(id(callee), []).append(statement)
        p.phases[phase] = _topological(drops, callers)


def _atomic_calls(statements: list[Statement], functions: dict[int, Function],
                  search_path: Sequence[str]) -> dict[int, list[Statement]]:
    """For each statement of a SQL-standard function, those of the functions it calls."""
    return {id(s): [t for t in statements if t is not s and _calls(
                functions[id(s)].definition or "", functions[id(t)], search_path)]
            for s in statements if _atomic(functions[id(s)])}


def _topological(statements: list[Statement], before: dict[int, list[Statement]],
                 ) -> list[Statement]:
    """`statements` in their order, but each after those `before` names for it."""
    order: list[Statement] = []
    seen: set[int] = set()

    def visit(statement: Statement) -> None:
        if id(statement) in seen:
            return  # placed, or a cycle PostgreSQL refuses anyway
        seen.add(id(statement))
        for first in before.get(id(statement), ()):
            visit(first)
        order.append(statement)

    for statement in statements:
        visit(statement)
    return order


def _create_function(p: _Plan, function: Function, new_types: set[tuple[str, ...]],
                     *, created: bool = True) -> None:
    subject = function.signature
    if function.definition is None:
        p.emit("functions_early", f"-- {function.kind} {subject} is not generated: "
               "the snapshot holds no definition of it (written by an older dbsafe)",
               Hazard("not-generated", f"Create {function.kind} `{subject}` by hand."),
               subject=subject)
        return
    late = _reads_relations(function, p.target) or any(
        _mentions_relation(text, new_types, p.target.search_path)
        for text in (function.returns, *(a.type for a in function.arguments)))
    if late or function.kind == "aggregate":
        p.late_functions.append(function)
    # An aggregate after every function: its state, final and other functions must exist.
    p.emit("aggregates" if function.kind == "aggregate" else
           "functions_late" if late else "functions_early", function.definition,
           subject=subject)
    _comment_acl_owner(p, _routine_word(function), _function_ref(function), function, "f",
                       created=created)


def _atomic(function: Function) -> bool:
    """A SQL-standard body (BEGIN ATOMIC, or RETURN expr): parsed when the function is
    created, so the tables and columns it reads must exist then, and PostgreSQL keeps them
    from changing under it."""
    definition = function.definition or ""
    quoted = definition.find("\nAS ")  # pg_get_functiondef's quoted body starts a line
    starts = [i for i in (definition.find("\nBEGIN ATOMIC\n"), definition.find("\nRETURN "))
              if i >= 0]
    return bool(starts) and (quoted < 0 or min(starts) < quoted)


def _reads_relations(function: Function, snapshot: SchemaSnapshot) -> bool:
    """Whether a SQL-standard body reads a relation of `snapshot` (or does not parse): it is
    created after the tables and columns. One reading none (Lemmy's `random_smallint()`,
    `RETURN trunc(random() * ...)`) is created with the other functions, before the column
    defaults that call it (42883 otherwise)."""
    if not _atomic(function):
        return False
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        parse_sql(function.definition or "")
    except ParseError:
        return True
    return bool(_atomic_reads(function, snapshot))


def _atomic_reads(function: Function, snapshot: SchemaSnapshot) -> set[tuple[str, ...]]:
    """(schema, name) of the relations a SQL-standard body reads, as pglast parses
    pg_get_functiondef's text; an unqualified name is the first on the search path."""
    if not _atomic(function):
        return set()
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        reads = nodes(parse_sql(function.definition or ""), ast.RangeVar)
    except ParseError:
        return set()
    relations = {(r.schema, r.name) for r in snapshot.relations}
    found: set[tuple[str, ...]] = set()
    for read in reads:
        schemas = [read.schemaname] if read.schemaname else snapshot.search_path
        match = next((s for s in schemas if (s, read.relname) in relations), None)
        if match is not None:
            found.add((match, str(read.relname)))
    return found


def _reshaped_relations(p: _Plan, relation_changes: list[Change]) -> set[tuple[str, ...]]:
    """Relations dropped, or whose columns are dropped or change type: what a SQL-standard
    function body that reads them keeps from happening."""
    reshaped = {c.identity for c in relation_changes if c.action == DROP}
    reshaped |= p.replaced_relations
    reshaped |= {c.identity[:2] for c in p.changes if c.kind == "column" and (
        c.action == DROP or (c.action == ALTER and c.attribute == "type"))}
    return reshaped


def _mentions_relation(type_text: str, relations: set[tuple[str, ...]],
                       search_path: Sequence[str]) -> bool:
    words = set(re.findall(r'"(?:[^"]|"")+"(?:\."(?:[^"]|"")+"|\.\w+)?|\w+(?:\.\w+)?',
                           type_text))
    for schema, name in relations:
        forms = {f"{schema}.{name}", qualify(schema, name)}
        if schema in search_path:
            forms |= {name, quote(name)}
        if words & forms:
            return True
    return False


def _type_key(function: Function) -> tuple[str, str, tuple[str, ...]]:
    return (function.schema, function.name, tuple(a.type for a in function.input_arguments))


def _routine_word(function: Function) -> str:
    return {"procedure": "PROCEDURE", "aggregate": "AGGREGATE"}.get(function.kind, "FUNCTION")


def _function_ref(function: Function) -> str:
    arguments = function.identity_arguments
    if function.kind == "aggregate" and not arguments:
        arguments = "*"  # `count(*)`: an aggregate of no arguments
    return f"{qualify(function.schema, function.name)}({arguments})"


def _function_by_identity(snapshot: SchemaSnapshot, identity: tuple[str, ...]) -> Function:
    for function in snapshot.functions:
        if function_identity(function) == identity:
            return function
    raise KeyError(identity)


def _replace_needed(old: Function, new: Function) -> bool:
    """Whether CREATE OR REPLACE refuses to turn `old` into `new` although their identities
    match: an argument loses its default, or the output arguments change."""
    old_in, new_in = old.input_arguments, new.input_arguments
    if any(a.has_default and not b.has_default for a, b in zip(old_in, new_in, strict=False)):
        return True
    return ([(a.name, a.type) for a in old.arguments if a not in old_in]
            != [(a.name, a.type) for a in new.arguments if a not in new_in])


def _mark_function_dependents(p: _Plan, function: Function) -> None:
    """What stops DROP FUNCTION of `function` when it is dropped and created again: views
    and triggers are created again; column defaults, indexes, check constraints, policies,
    rules and casts that call it are taken off before and put back after."""
    signature = f"{function.schema}.{function.name}({function.identity_arguments})"
    for cast in p.source.casts:
        # (`regprocedure` text: its name, qualified where off the search path, then the
        # argument types, which hold no parenthesis; an overload of the name is taken off
        # too, which costs nothing)
        if cast.function is not None and _calls(
                f"SELECT {cast.function[:cast.function.rindex('(')]}()", function,
                p.source.search_path):
            p.recreate_casts.add((f"({cast.source} AS {cast.target})",))
    for relation in p.source.relations:
        key = (relation.schema, relation.name)
        if signature in relation.depends_on:
            p.recreate_views.add(key)
        for trigger in relation.triggers:
            if f"FUNCTION {qualify(function.schema, function.name)}(" in trigger.definition:
                p.recreate_triggers.add((*key, trigger.name))
        for rule in relation.rules:
            if _calls(rule.definition, function, p.source.search_path):
                p.recreate_rules.add((*key, rule.name))
        if relation.kind in ("view", "materialized_view"):
            continue
        # A table dropped later holds the function as well (2BP01): what calls it is taken
        # off, and comes back nowhere. One dropped and created again is created as the
        # target has it.
        gone = p.target.relation(*key) is None
        if key in p.dropped_relations and not gone:
            continue
        table = qualify(*key)
        for column in relation.columns:
            if column.default is not None and not column.generated and \
                    _calls(f"SELECT {column.default}", function, p.source.search_path):
                if not gone:
                    p.reset_defaults.add((*key, column.name))
                p.emit("drop_function_users", f"ALTER TABLE {table} ALTER COLUMN "
                       f"{quote(column.name)} DROP DEFAULT",
                       subject=f"{relation.qualified_name}.{column.name}")
        for index in relation.indexes:
            # A partition's index goes and comes back with its parent's.
            if not relation.partition_of and not _constraint_index(relation, index.name) \
                    and _calls(index.definition, function, p.source.search_path):
                if gone:  # its table's DROP, later, has the `data-loss` hazard
                    p.emit("drop_function_users",
                           f"DROP INDEX {qualify(relation.schema, index.name)}",
                           subject=f"{relation.qualified_name}.{index.name}")
                    continue
                _take_off_index(p, relation, index, f"calls `{signature}`, which is dropped "
                                "and created again")
        for constraint in relation.constraints:
            if constraint.kind == "check" and _calls(
                    f"ALTER TABLE x ADD {constraint.definition}", function,
                    p.source.search_path):
                _take_off_check(p, relation, constraint)
        for policy in relation.policies:
            if any(text is not None and _calls(f"SELECT ({text})", function,
                                               p.source.search_path)
                   for text in (policy.using, policy.with_check)):
                p.recreate_policies.add((*key, policy.name))


def _take_off_index(p: _Plan, relation: Relation, index: Index, why: str) -> None:
    """Drop an index before what it uses changes; `_restore_function_users` builds it
    again after, as the target has it. Once, whatever asks for it more than once."""
    key = (relation.schema, relation.name, index.name)
    if key in p.rebuilt_indexes:
        return
    p.rebuilt_indexes.add(key)
    p.emit("drop_function_users", f"DROP INDEX {qualify(relation.schema, index.name)}",
           Hazard("index-unavailable", f"`{index.name}` {why}: it is built again after."),
           subject=f"{relation.qualified_name}.{index.name}")


def _take_off_check(p: _Plan, relation: Relation, constraint: Constraint) -> None:
    """Drop a check constraint before what it uses changes; `_restore_function_users`
    adds it again after, as the target has it. Once, whatever asks for it more than once."""
    key = (relation.schema, relation.name, constraint.name)
    if key in p.rebuilt_checks:
        return
    p.rebuilt_checks.add(key)
    _drop_constraint(p, qualify(relation.schema, relation.name), constraint,
                     f"{relation.qualified_name}.{constraint.name}", phase="drop_function_users")


def _calls(sql: str, function: Function, search_path: Sequence[str]) -> bool:
    """Whether `sql` (PostgreSQL's own text) calls a function named as `function` is, by
    pglast's parse; True where it does not parse (the caller then errs on the side of
    taking the user off and putting it back)."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    if function.name.lower() not in sql.lower():
        return False
    try:
        calls = nodes(parse_sql(sql), ast.FuncCall)
    except ParseError:
        return True
    for call in calls:
        names = [str(n.sval) for n in call.funcname or () if isinstance(n, ast.String)]
        if names and names[-1] == function.name and (
                names[:-1] == [function.schema]
                or (len(names) == 1 and function.schema in search_path)):
            return True
    return False


def _calls_late(p: _Plan, default: str | None) -> list[Function]:
    """The functions `default` calls that the script creates after the tables and columns
    (`functions_late`, `aggregates`): a default naming one is set once they exist (42883
    before)."""
    if default is None:
        return []
    return [f for f in p.late_functions
            if _calls(f"SELECT {default}", f, p.target.search_path)]


def _check_waits(p: _Plan, constraint: Constraint) -> bool:
    """A CHECK calling a function the script creates after the tables: added to a new
    table with the other constraints, after it, not inside its CREATE TABLE."""
    return constraint.kind == "check" and any(
        _calls(f"ALTER TABLE x ADD {constraint.definition}", f, p.target.search_path)
        for f in p.late_functions)


def _default_phase(p: _Plan, default: str | None) -> str:
    """Where a `SET DEFAULT` goes: with the other column changes, or after the functions
    it calls that the script creates late."""
    return "function_users" if _calls_late(p, default) else "columns"


def _restore_function_users(p: _Plan) -> None:
    """Put back what `_mark_function_dependents` took off, as the target has it (unless a
    change of its own already does)."""
    for schema, name, column_name in sorted(p.reset_defaults):
        relation = p.target.relation(schema, name)
        column = relation.column(column_name) if relation else None
        if column is not None and column.default is not None and not column.generated:
            p.emit("function_users", f"ALTER TABLE {qualify(schema, name)} ALTER COLUMN "
                   f"{quote(column_name)} SET DEFAULT {column.default}",
                   subject=f"{schema}.{name}.{column_name}")
    for schema, name, index_name in sorted(p.rebuilt_indexes):
        relation = p.target.relation(schema, name)
        index = next((i for i in relation.indexes if i.name == index_name), None) \
            if relation else None
        if relation is None or index is None or any(
                c.kind == "index" and c.identity == (schema, name, index_name)
                and (c.action == ADD or c.attribute not in ("comment", "valid", "clustered",
                                                            "statistics"))
                for c in p.changes):
            continue  # gone, or built by its own change
        # A comment change of its own sets the comment after the build.
        _build_index(p, relation, index, comment=not any(
            c.kind == "index" and c.identity == (schema, name, index_name) for c in p.changes))
    for schema, name, constraint_name in sorted(p.rebuilt_checks):
        relation = p.target.relation(schema, name)
        constraint = _constraint(p.target, (schema, name, constraint_name))
        if relation is None or constraint is None or any(
                c.kind == "constraint" and c.identity == (schema, name, constraint_name)
                and (c.action == ADD or c.attribute not in ("comment", "validated"))
                for c in p.changes):
            continue  # gone, or added by its own change
        _add_constraint(p, relation, constraint)
        if constraint.comment is not None and not any(
                c.kind == "constraint" and c.identity == (schema, name, constraint_name)
                for c in p.changes):
            p.emit("comments", f"COMMENT ON CONSTRAINT {quote(constraint_name)} ON "
                   f"{qualify(schema, name)} IS {_text(constraint.comment)}",
                   subject=f"{schema}.{name}.{constraint_name}")


# -- relations -------------------------------------------------------------------------------


def _relations(p: _Plan, changes: list[Change]) -> None:
    adds = [c for c in changes if c.action == ADD]
    drops = [c for c in changes if c.action == DROP]
    rebuilt = {c.identity for c in changes if c.action == ALTER and c.attribute == "partition_key"}
    for identity in sorted(rebuilt):
        drops.append(Change(DROP, "table", identity, old=p.source.relation(*identity)))
        adds.append(Change(ADD, "partitioned_table", identity, new=p.target.relation(*identity)))
    for c in drops:
        p.dropped_relations.add(c.identity)
    for c in adds:
        p.created_relations.add(c.identity)
    for c in _parents_first([c for c in adds if c.new.kind in _TABLE_KINDS]):
        _create_table(p, c.new)
    dropped_tables = {c.subject for c in drops}
    for c in drops:
        for constraint in c.old.constraints:
            # A foreign key between two dropped tables would stop the first DROP.
            # (A partition's copy of its parent's goes with the parent's; one of its own
            # must go itself.)
            if constraint.kind == "foreign_key" and constraint.referenced_table in \
                    dropped_tables and constraint.referenced_table != c.subject \
                    and not (c.old.partition_of
                             and _inherited_constraint(p, c.old, constraint, p.source)):
                p.emit("drop_fks", f"ALTER TABLE {qualify(*c.identity)} DROP CONSTRAINT "
                       f"{quote(constraint.name)}", subject=f"{c.subject}.{constraint.name}")
    early = _replaced_with_descendants(p, drops)
    _move_kept_children(p, early)
    _free_index_names(p, [c.old for c in drops
                          if c.old.kind in _TABLE_KINDS and c.identity not in early])
    referenced = {k.referenced_table for r in p.source.relations for k in r.constraints
                  if k.kind == "foreign_key"} if any(c.old.partition_of for c in drops) else set()
    keyed_parents = {(c.identity[0], c.identity[1]) for c in p.changes
                     if c.kind == "constraint" and c.action in (ADD, ALTER)
                     and (k := _constraint(p.target, c.identity)) is not None
                     and k.kind in ("primary_key", "unique", "exclusion")}
    for c in _children_first([c for c in drops if c.old.kind in _TABLE_KINDS], p.source):
        relation: Relation = c.old
        hazard = Hazard("data-loss", f"Drops table `{c.subject}` and all its rows.")
        if c.identity in rebuilt:
            hazard = Hazard("data-loss", f"`{c.subject}` changes its partition key, which "
                            "PostgreSQL cannot alter: the table is dropped and created again "
                            "(the partitions the target keeps are detached first and attached "
                            "again, with their rows).")
        elif c.identity in p.replaced_relations:
            new = p.target.relation(*c.identity)
            kind = new.kind.replace("_", " ") if new is not None else "relation"
            hazard = Hazard("data-loss", f"Drops table `{c.subject}` and all its rows: a {kind} "
                            "of the same name takes its place.")
        rename = _possible_rename(p, relation)
        parent = relation.partition_of
        # A partition that is itself partitioned, dropped from a parent that stays and gains
        # a key: the parent's ADD CONSTRAINT reaches it while it is attached, and PostgreSQL
        # refuses a key that lacks its own partition key's columns (0A000: Hatchet's
        # v1_dags_olap_<date>, partitioned by readable_status, under a primary key that
        # leaves that column). It is detached before the keys are made.
        keyed = parent is not None and relation.kind == "partitioned_table" \
            and _split(parent) in keyed_parents
        if parent and _split(parent) not in p.dropped_relations \
                and (keyed or _referenced_ancestor(p.source, relation, referenced)):
            # PostgreSQL refuses to drop a partition of a table a foreign key references
            # (2BP01: the key's rows for it depend on it) until it is detached; the DETACH
            # checks that no row references its rows (23503). CONCURRENTLY where the
            # parent has no default partition (PostgreSQL refuses it then).
            concurrently = not _has_default_partition(p.source, parent)
            p.emit("detach" if keyed else "drop_tables",
                   f"ALTER TABLE {_dotted(parent)} DETACH PARTITION "
                   f"{qualify(relation.schema, relation.name)}"
                   + (" CONCURRENTLY" if concurrently else ""),
                   *(() if concurrently else (Hazard(
                       "access-exclusive-lock", f"Detaching `{c.subject}` locks "
                       f"`{parent}` ACCESS EXCLUSIVE (it has a default partition, so not "
                       "CONCURRENTLY): reads and writes wait."),)),
                   transactional=not concurrently, subject=c.subject)
        # What takes the name is created in its own phase, before `drop_tables`.
        p.emit("drop_replaced" if c.identity in early else "drop_tables",
               f"DROP {_OBJECT_WORD[relation.kind]} {qualify(relation.schema, relation.name)}",
               hazard, *rename, subject=c.subject)
    for c in changes:
        if c.action != ALTER or c.identity in rebuilt:
            continue
        if c.kind in ("view", "materialized_view") and c.identity in p.recreate_views:
            continue  # created again with its comment, grants and owner
        altered = p.target.relation(*c.identity)
        if altered is None:
            continue
        _alter_relation(p, c, altered)


def _referenced_ancestor(snapshot: SchemaSnapshot, partition: Relation,
                         referenced: set[str | None]) -> bool:
    """Whether a table `partition` is a partition of (its parent, or that one's parent,
    ...) is `referenced` (the tables foreign keys of `snapshot` reference)."""
    parent, seen = partition.partition_of, set()
    while parent and parent not in seen:
        if parent in referenced:
            return True
        seen.add(parent)
        above = snapshot.relation(*_split(parent))
        parent = above.partition_of if above is not None else None
    return False


def _free_index_names(p: _Plan, dropped: list[Relation]) -> None:
    """Rename out of the way the indexes of tables dropped at the end whose names the target
    gives an index of another table (a table replaced by one of another name that keeps
    its index names, its primary key's too): an index name is unique in its schema, so
    the new index's CREATE failed (42P07) while the old table was still there. The old
    index keeps working under a free name until its table is dropped."""
    if not dropped:
        return
    taken = {(r.schema, i.name): r.name for r in p.target.relations for i in r.indexes}
    used = {(r.schema, n) for snapshot in (p.source, p.target) for r in snapshot.relations
            for n in (r.name, *(i.name for i in r.indexes))}
    used |= {(s.schema, s.name) for snapshot in (p.source, p.target)
             for s in snapshot.sequences}
    for relation in dropped:
        for index in relation.indexes:
            owner = taken.get((relation.schema, index.name))
            if owner is None or owner == relation.name:
                continue
            free = next(name for n in itertools.count(1)
                        if (relation.schema, name := _short_name(
                            f"{index.name}_dropped" + (str(n) if n > 1 else ""))) not in used)
            used.add((relation.schema, free))
            p.emit("drop_indexes", f"ALTER INDEX {qualify(relation.schema, index.name)} "
                   f"RENAME TO {quote(free)}",
                   subject=f"{relation.qualified_name}.{index.name}")


def _replaced_relations(changes: Sequence[Change]) -> set[tuple[str, ...]]:
    """Tables dropped and created again under their name: a table that becomes a view or a
    partitioned table (or back), or whose partition key changes."""
    dropped = {c.identity for c in changes if c.kind in _TABLE_KINDS and c.action == DROP}
    added = {c.identity for c in changes if c.kind in _RELATION_KINDS and c.action == ADD}
    rekeyed = {c.identity for c in changes
               if c.kind in _TABLE_KINDS and c.attribute == "partition_key"}
    return (dropped & added) | rekeyed


def _replaced_with_descendants(p: _Plan, drops: list[Change]) -> set[tuple[str, ...]]:
    """The replaced tables and the partitions and inheriting tables of theirs that are
    dropped too: DROP TABLE of a partitioned table takes its partitions with it, so they go
    in the same early phase (and not again later)."""
    dropped = {c.subject: c.identity for c in drops}
    early = set(p.replaced_relations)
    grew = True
    while grew:
        grew = False
        for relation in p.source.relations:
            key = dropped.get(relation.qualified_name)
            if key is None or key in early:
                continue
            if any(parent and _split(parent) in early
                   for parent in (relation.partition_of, *relation.inherits)):
                early.add(key)
                grew = True
    return early


def _move_kept_children(p: _Plan, early: set[tuple[str, ...]]) -> None:
    """Partitions of a replaced table that the target keeps leave it before it is dropped
    (with their rows) and join what takes its place, unless a change of their own already
    moves them; so do the sequences its serial columns own. (What inherits from a table
    cannot inherit from a view or a partitioned table: its own change lets go of it.)"""
    kept_rows: set[tuple[str, str]] = set()
    for relation in p.source.relations:
        key = (relation.schema, relation.name)
        if key in p.dropped_relations or key in early:
            continue
        parent = relation.partition_of
        if not parent or _split(parent) not in early:
            continue
        target = p.target.relation(*key)
        own = {c.attribute for c in p.changes_of(key) if c.action == ALTER}
        if "partition_of" not in own \
                and "partition_bound" not in own and relation.qualified_name not in p.detached:
            check = _detach(p, relation, parent)
            if target is not None and target.partition_of == parent:
                kept_rows.add(_split(parent))
                p.emit("attach", f"ALTER TABLE {_dotted(parent)} ATTACH PARTITION "
                       f"{qualify(*key)} {target.partition_bound}",
                       Hazard("long-scan", f"Scans `{relation.qualified_name}` to check the "
                              "partition bound."), subject=relation.qualified_name)
            if check is not None:
                p.emit("attach", check, subject=relation.qualified_name)
    # The new table's identity sequences start again: they go on after the rows it gets back.
    for schema, name in sorted(kept_rows & p.replaced_relations):
        new = p.target.relation(schema, name)
        if new is None:
            continue
        for column in new.columns:
            if column.identity:
                _continue_numbering(p, new, column, phase="relation_options")
    for sequence in p.source.sequences:
        owner = tuple(sequence.owned_by.split(".", 2)) if sequence.owned_by else ()
        kept = _find(p.target.sequences, sequence.schema, sequence.name)
        if owner[:2] not in early or kept is None or _identity_sequence(p.source, sequence):
            continue
        qname = qualify(sequence.schema, sequence.name)
        # DROP TABLE would take the sequence along; the target still has it.
        p.emit("detach", f"ALTER SEQUENCE {qname} OWNED BY NONE",
               subject=f"{sequence.schema}.{sequence.name}")
        if kept.owned_by and not any(
                c.kind == "sequence" and c.identity == (sequence.schema, sequence.name)
                and c.attribute == "owned_by" for c in p.changes):
            p.emit("sequence_owners", f"ALTER SEQUENCE {qname} OWNED BY "
                   f"{_column_ref(kept.owned_by)}", subject=f"{sequence.schema}.{sequence.name}")


def _parents_first(changes: list[Change]) -> list[Change]:
    names = {c.subject: c for c in changes}
    ordered: list[Change] = []
    seen: set[str] = set()

    def visit(change: Change) -> None:
        if change.subject in seen:
            return
        seen.add(change.subject)
        relation: Relation = change.new
        for parent in (relation.partition_of, *relation.inherits):
            if parent and parent in names:
                visit(names[parent])
        ordered.append(change)

    for change in changes:
        visit(change)
    return ordered


def _children_first(changes: list[Change], source: SchemaSnapshot) -> list[Change]:
    """The tables of `changes` (drops) in an order DROP TABLE accepts: partitions and
    inheriting tables before their parents, a table whose column default calls nextval()
    on another's sequence (serial, identity) before that table, which drops the sequence."""
    names = {c.subject: c for c in changes}
    ordered: list[Change] = []
    seen: set[str] = set()
    children: dict[str, list[Change]] = {}
    owners = {f"{sequence.schema}.{sequence.name}": ".".join(sequence.owned_by.split(".")[:2])
              for sequence in source.sequences if sequence.owned_by}
    for change in changes:
        relation: Relation = change.old
        for parent in (relation.partition_of, *relation.inherits):
            if parent:
                children.setdefault(parent, []).append(change)
        for column in relation.columns:
            if column.default is not None and "nextval" in column.default:
                for sequence in sequences_called(column.default, source):
                    owner = owners.get(sequence)
                    if owner in names and owner != change.subject:
                        children.setdefault(owner, []).append(change)

    def visit(change: Change) -> None:
        if change.subject in seen:
            return
        seen.add(change.subject)
        for child in children.get(change.subject, []):
            visit(child)
        ordered.append(change)

    for change in changes:
        visit(change)
    return [names[c.subject] for c in ordered]


def _possible_rename(p: _Plan, relation: Relation) -> tuple[Hazard, ...]:
    """A table created with the dropped one's column types, in order, and its column names
    but at most one (a rename of the table, and perhaps of one column, seen as a drop and
    a create), fewer than half of them: types alone matched GitLab's many tables of an id,
    two bigint keys and two timestamps."""
    types = [c.type for c in relation.columns]
    names = [c.name for c in relation.columns]
    for other in p.target.relations:
        if (other.schema, other.name) not in p.created_relations or other.kind != relation.kind \
                or (other.schema, other.name) == (relation.schema, relation.name) \
                or [c.type for c in other.columns] != types:
            continue
        renamed = [(a, b.name) for a, b in zip(names, other.columns, strict=True) if a != b.name]
        if len(renamed) > 1 or 2 * len(renamed) >= len(names):
            continue
        columns = "the same columns" if not renamed else (
            f"the same columns but `{renamed[0][0]}`, named `{renamed[0][1]}` there")
        return (Hazard("possible-rename", f"`{other.schema}.{other.name}` is created with "
                       f"{columns}: if this is a rename, use ALTER TABLE "
                       f"{qualify(relation.schema, relation.name)} RENAME TO "
                       f"{quote(other.name)} instead and keep the rows."),)
    return ()


def _shape_inherited_columns(p: _Plan, relation: Relation, qname: str) -> None:
    """A new child's columns only inherited (left out of its CREATE TABLE) whose default or
    NOT NULL is not its parents': set on the child alone (`ONLY`), the column stays
    theirs."""
    for column in relation.columns:
        if not column.inherited or column.generated or column.identity:
            continue
        parents = [c for t in relation.inherits
                   for r in (p.target.relation(*_split(t)),) if r is not None
                   for c in (r.column(column.name),) if c is not None]
        alter = f"ALTER TABLE ONLY {qname} ALTER COLUMN {quote(column.name)}"
        if parents and all(c.default != column.default for c in parents):
            p.emit("tables", f"{alter} " + (f"SET DEFAULT {column.default}" if column.default
                                            else "DROP DEFAULT"),
                   subject=f"{relation.qualified_name}.{column.name}")
        if parents and not column.nullable and all(c.nullable for c in parents):
            p.emit("tables", f"{alter} SET NOT NULL",
                   subject=f"{relation.qualified_name}.{column.name}")


def _create_table(p: _Plan, relation: Relation) -> None:
    qname = qualify(relation.schema, relation.name)
    subject = relation.qualified_name
    word = ("UNLOGGED " if relation.unlogged else "") + _OBJECT_WORD[relation.kind]
    parent = p.target.relation(*_split(relation.partition_of)) if relation.partition_of else None
    if parent is not None:
        sql = f"CREATE {word} {qname} PARTITION OF {_dotted(relation.partition_of or '')}"
        own = _local_constraints(p, relation, parent, _keys_over_parent_index(p, relation))
        if own:
            sql += " (" + ", ".join(own) + ")"
        sql += f" {relation.partition_bound}"
    else:
        # A default calling a function the script creates after the tables is set once it
        # exists (`_restore_function_users`): the new table has no rows to fill.
        waiting = {c.name for c in relation.columns
                   if not c.generated and _calls_late(p, c.default)}
        p.reset_defaults |= {(relation.schema, relation.name, name) for name in waiting}
        # A column only its parents' comes with INHERITS: written out, it would be the
        # child's own too (`attislocal`), kept when a parent drops it.
        parts = [_column_definition(replace(c, default=None) if c.name in waiting else c,
                                    _identity_options(p, relation, c))
                 for c in relation.columns if not (relation.inherits and c.inherited)]
        # NOT VALID means nothing inside CREATE TABLE, so those are added afterwards, as
        # are CHECKs calling a function the script creates after the tables (42883).
        parts += [f"CONSTRAINT {quote(k.name)} {k.definition}" for k in relation.constraints
                  if k.kind != "foreign_key" and k.validated and not _check_waits(p, k)]
        sql = f"CREATE {word} {qname} (\n    " + ",\n    ".join(parts) + "\n)"
        if relation.inherits:
            sql += " INHERITS (" + ", ".join(_dotted(t) for t in relation.inherits) + ")"
    if relation.partition_key:
        sql += f" PARTITION BY {relation.partition_key}"
    if relation.options:
        sql += " WITH (" + ", ".join(relation.options) + ")"
    if relation.kind == "foreign_table":
        sql += f" SERVER {quote(relation.server or '')}" + _fdw_options(relation.foreign_options)
    p.emit("tables", sql, subject=subject)
    if parent is None and relation.inherits:
        _shape_inherited_columns(p, relation, qname)
    if parent is not None:
        _name_attached_indexes(p, relation, parent)
        for column in relation.columns:
            parent_column = parent.column(column.name)
            if parent_column is not None and parent_column.default != column.default:
                p.emit("tables" if _default_phase(p, column.default) == "columns" else
                       "function_users",
                       f"ALTER TABLE {qname} ALTER COLUMN {quote(column.name)} " + (
                    f"SET DEFAULT {column.default}" if column.default is not None
                    else "DROP DEFAULT"), subject=subject)
    for constraint in relation.constraints:
        if constraint.kind == "check" and (not constraint.validated
                                           or _check_waits(p, constraint)) and (
                parent is None or not _inherited_constraint(p, relation, constraint)):
            p.emit("constraints", f"ALTER TABLE {qname} ADD CONSTRAINT {quote(constraint.name)} "
                   f"{constraint.definition}", subject=f"{subject}.{constraint.name}")
        if constraint.kind == "foreign_key" and not _inherited_constraint(p, relation,
                                                                           constraint):
            p.emit("fks", f"ALTER TABLE {qname} ADD CONSTRAINT {quote(constraint.name)} "
                   f"{constraint.definition}", subject=f"{subject}.{constraint.name}")
    constraint_names = {k.name for k in relation.constraints}
    for index in relation.indexes:
        if index.name in constraint_names or _inherited_index(p, relation, index):
            continue
        _partition_indexes_first(p, relation, index)
        p.emit("indexes", _partitioned_index(index), subject=f"{subject}.{index.name}")
        _attach_to_on_only(p, relation, index)
    for column in relation.columns:
        _column_extras(p, relation, column, grants=False)  # after the table's (_comment_acl_owner)
    _relation_extras(p, relation, created=True)


_SIMPLE_KEY = re.compile(r"(PRIMARY KEY|UNIQUE) \([^()]*\)")


def _keys_over_parent_index(p: _Plan, relation: Relation) -> dict[str, str]:
    """A new partition's primary key or unique constraints that the target backs with its
    copy of a kept parent index (made before it, then attached): each name, with the
    parent index's. `CREATE TABLE ... PARTITION OF` builds the parent's copy first, so a
    key written into it would get a second index; the copy is made the key instead
    (`ADD CONSTRAINT ... USING INDEX`, which PostgreSQL takes on an attached index and
    renames it). Only a plain key (no INCLUDE, WITH, DEFERRABLE, NULLS NOT DISTINCT) of
    the partition's own over an index of the parent's own (not a copy of a parent's key,
    nor over a key's index, which the partition's copy of that key is)."""
    parent = p.target.relation(*_split(relation.partition_of or ""))
    if parent is None:
        return {}
    touched = {c.identity for c in p.changes if c.kind == "index"}
    indexes = {i.name: i for i in relation.indexes}
    parent_defs = {(k.kind, k.definition) for k in parent.constraints}
    parent_keys = {k.name for k in parent.constraints}
    keys = {}
    for constraint in relation.constraints:
        index = indexes.get(constraint.name)
        if constraint.kind not in ("primary_key", "unique") or index is None \
                or (constraint.kind, constraint.definition) in parent_defs \
                or not _SIMPLE_KEY.fullmatch(constraint.definition):
            continue
        kept = _kept_parent_index(p, relation, index, touched)
        if kept is not None and kept not in parent_keys:
            keys[constraint.name] = kept
    return keys


def _name_attached_indexes(p: _Plan, relation: Relation, parent: Relation) -> None:
    """Give the target's names to the indexes `CREATE TABLE ... PARTITION OF` made on
    `relation` for the indexes its parent already has: PostgreSQL names each as it picks
    (`<partition>_<columns>_idx`, a number added on a clash), which pg_dump's schemas
    rarely keep (GitLab's). Which one it picked is read from `pg_inherits` when the script
    runs, so no guess of PostgreSQL's naming is needed. A parent index built by this
    script names its partitions' first (`_partition_indexes_first`)."""
    touched = {c.identity for c in p.changes if c.kind == "index"}
    constraints = {k.name: k for k in relation.constraints}
    keys = _keys_over_parent_index(p, relation)
    for index in relation.indexes:
        kept = _kept_parent_index(p, relation, index, touched) \
            if index.name not in constraints else keys.get(index.name)
        if kept is None:
            continue
        parent_index = literal(qualify(parent.schema, kept))
        table = literal(qualify(relation.schema, relation.name))
        if index.name in constraints:
            key = constraints[index.name].definition.partition(" (")[0]
            act = f"""EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I {key} USING INDEX %I',
                   {literal(relation.schema)}, {literal(relation.name)}, {literal(index.name)},
                   picked);"""
        else:
            act = f"""IF picked <> {literal(index.name)} THEN
        EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', {literal(relation.schema)}, picked,
                       {literal(index.name)});
    END IF;"""
        p.emit("tables", f"""DO $dbsafe$
DECLARE picked name;
BEGIN
    SELECT c.relname INTO picked FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid JOIN pg_index AS x ON x.indexrelid = c.oid
    WHERE i.inhparent = {parent_index}::regclass AND x.indrelid = {table}::regclass;
    {act}
END
$dbsafe$""", subject=f"{relation.qualified_name}.{index.name}")


def _fdw_options(options: Sequence[str]) -> str:
    if not options:
        return ""
    pairs = [o.partition("=") for o in options]
    return " OPTIONS (" + ", ".join(f"{quote(k)} {literal(v)}" for k, _, v in pairs) + ")"


def _local_constraints(p: _Plan, relation: Relation, parent: Relation,
                       over_parent_index: dict[str, str]) -> list[str]:
    """What a new partition holds that its parent does not give it, written into its
    `CREATE TABLE ... PARTITION OF ... (...)`: NOT NULL on a column the parent leaves
    nullable, and its own CHECK, primary key, unique and exclusion constraints (a key of a
    partition alone, made before the parent's index that then attaches it, as where the
    target made it), but for a key the copy of a kept parent index backs, made the key
    afterwards (`_keys_over_parent_index`). A NOT VALID CHECK is added after it, and so is
    one calling a function the script creates after the tables (`_create_table`; 42883
    inside the CREATE TABLE)."""
    parent_defs = {(k.kind, k.definition) for k in parent.constraints}
    own = []
    for column in relation.columns:
        parent_column = parent.column(column.name)
        if not column.nullable and not column.not_null_not_valid and (
                parent_column is None or parent_column.nullable):
            own.append(f"{quote(column.name)} WITH OPTIONS"
                       + (f" CONSTRAINT {quote(column.not_null_name)}"
                          if column.not_null_name else "") + " NOT NULL"
                       + (" NO INHERIT" if column.not_null_no_inherit else ""))
    own += [f"CONSTRAINT {quote(k.name)} {k.definition}" for k in relation.constraints
            if k.kind in ("check", "primary_key", "unique", "exclusion") and k.validated
            and (k.kind, k.definition) not in parent_defs and k.name not in over_parent_index
            and not _check_waits(p, k)]
    return own


def _inherited_constraint(p: _Plan, relation: Relation, constraint: Constraint,
                          snapshot: SchemaSnapshot | None = None) -> bool:
    """Whether a parent of `relation` in `snapshot` (the target's by default) has the
    constraint: the relation's is then its copy."""
    for dotted in (relation.partition_of, *relation.inherits):
        if not dotted:
            continue
        parent = (snapshot or p.target).relation(*_split(dotted))
        if parent is not None and any(
                k.kind == constraint.kind and k.definition == constraint.definition
                for k in parent.constraints):
            return True
    return False


def _inherited_index(p: _Plan, relation: Relation, index: Index) -> bool:
    if not relation.partition_of:
        return False
    parent = p.target.relation(*_split(relation.partition_of))
    if parent is None:
        return False
    tail = _index_tail(index.definition)
    copied = {i.name for i in parent.indexes if _index_tail(i.definition) == tail}
    if index.attached_to is None and any(i.attached_to in copied for i in relation.indexes):
        return False  # another of its indexes is the parent's copy: this one is its own
    return bool(copied)


def _attach_takes_another(p: _Plan, partition: Relation, index: Index) -> bool:
    """Whether the ATTACH of `partition` (a table joining its parent) attaches another
    index of `index`'s definition that it has and keeps, rather than making `index`, its
    copy of the parent's: it must then be built (before the ATTACH) to be there at all
    (pg-schema-diff's 'Can handle scenario where partition is not attached')."""
    return bool(_attach_candidates(p, partition, index))


def _attach_candidates(p: _Plan, partition: Relation, index: Index) -> list[Index]:
    """The indexes of `partition` (a table joining its parent) of `index`'s definition that
    it has and keeps, other than `index`: its ATTACH attaches the first (the oldest)."""
    source = p.source.relation(partition.schema, partition.name)
    if source is None or source.partition_of == partition.partition_of:
        return []
    tail = _index_tail(index.definition)
    kept = {i.name for i in partition.indexes}
    keys = {k.name for k in source.constraints}
    return [i for i in source.indexes
            if _index_tail(i.definition) == tail and i.unique == index.unique
            and i.name != index.name and i.name in kept and i.name not in keys]


def _attach_the_copy(p: _Plan, partition: Relation, index: Index) -> None:
    """Where the target attaches `index`, the copy built before the ATTACH, and keeps the
    partition's older index of its definition as its own: PostgreSQL's ATTACH attaches the
    oldest matching index and cannot detach it afterwards, so the older ones are dropped
    just before the ATTACH (the copy serves their queries) and built again after it."""
    if index.attached_to is None:
        return  # (a snapshot that read no attachment: the ATTACH picks)
    for other in _attach_candidates(p, partition, index):
        target = next(i for i in partition.indexes if i.name == other.name)
        if target.attached_to is not None:
            continue
        subject = f"{partition.qualified_name}.{other.name}"
        p.emit("drop_attach_columns", f"DROP INDEX CONCURRENTLY "
               f"{qualify(partition.schema, other.name)}",
               Hazard("index-unavailable", f"`{other.name}` is built again after the ATTACH "
                      f"(else the ATTACH attaches it instead of `{index.name}`); its queries "
                      f"use `{index.name}` meanwhile."), transactional=False, subject=subject)
        p.emit("after_attach", _concurrent_index(target.definition),
               Hazard("long-scan", f"Builds `{other.name}` again; writes continue."
                      + _duplicates_fail(target, concurrently=True)),
               transactional=False, subject=subject)


def _index_tail(definition: str) -> str:
    return definition.partition(" USING ")[2]


def _column_definition(column: Column, identity_options: str = "", *,
                       not_null_name: str | None = None) -> str:
    sql = f"{quote(column.name)} {column.type}"
    if column.collation:
        sql += f" COLLATE {column.collation}"
    if column.generated:
        sql += f" GENERATED ALWAYS AS ({column.default}) {column.generated.upper()}"
    elif column.identity:
        sql += f" GENERATED {column.identity.upper()} AS IDENTITY{identity_options}"
    elif column.default is not None:
        sql += f" DEFAULT {column.default}"
    if not column.nullable and not column.not_null_not_valid:  # NOT VALID: `_column_extras`
        name = not_null_name or column.not_null_name
        if name is not None:
            sql += f" CONSTRAINT {quote(name)}"
        sql += " NOT NULL" + (" NO INHERIT" if column.not_null_no_inherit else "")
    return sql


def _not_null_name(relation: Relation, column: Column) -> str:
    """The name of the column's NOT NULL constraint (PostgreSQL 18): the one read, or the
    one PostgreSQL makes, which the snapshot leaves out."""
    return column.not_null_name or f"{relation.name}_{column.name}_not_null"


def _add_not_null_constraint(p: _Plan, relation: Relation, table: str, column: Column,
                             name: str | None = None, *, phase: str = "columns") -> None:
    """`ADD CONSTRAINT ... NOT NULL col` with the column's name (or `name`), NO INHERIT and
    NOT VALID (PostgreSQL 18); NOT VALID checks no existing row, so it takes no scan."""
    p.emit(phase, f"ALTER TABLE {table} ADD CONSTRAINT "
           f"{quote(name or _not_null_name(relation, column))} NOT NULL {quote(column.name)}"
           + (" NO INHERIT" if column.not_null_no_inherit else "")
           + (" NOT VALID" if column.not_null_not_valid else ""),
           subject=f"{relation.qualified_name}.{column.name}")


def _column_extras(p: _Plan, relation: Relation, column: Column,
                   not_null_name: str | None = None, *, grants: bool = True,
                   phase: str = "columns") -> None:
    """Storage, compression, statistics, comment and (unless `grants` is false: a table
    created, whose grants come first) grants of a column just created (its NOT NULL NOT
    VALID under `not_null_name` when given), in `phase` (where the column is added)."""
    table = qualify(relation.schema, relation.name)
    col = quote(column.name)
    subject = f"{relation.qualified_name}.{column.name}"
    if not column.nullable and column.not_null_not_valid:
        _add_not_null_constraint(p, relation, table, column, not_null_name, phase=phase)
    if column.storage:
        p.emit(phase, f"ALTER TABLE {table} ALTER COLUMN {col} SET STORAGE "
               f"{column.storage.upper()}", subject=subject)
    if column.compression:
        p.emit(phase, f"ALTER TABLE {table} ALTER COLUMN {col} SET COMPRESSION "
               f"{column.compression}", subject=subject)
    if column.statistics is not None:
        p.emit(phase, f"ALTER TABLE {table} ALTER COLUMN {col} SET STATISTICS "
               f"{column.statistics}", subject=subject)
    if column.comment is not None:
        p.emit("comments", f"COMMENT ON COLUMN {table}.{col} IS {_text(column.comment)}",
               subject=subject)
    if column.acl and grants:
        _grants(p, f"TABLE {table}", (), column.acl, "c", None, subject, column=col)


def _relation_extras(p: _Plan, relation: Relation, *, created: bool) -> None:
    qname = qualify(relation.schema, relation.name)
    word = _OBJECT_WORD[relation.kind]
    subject = relation.qualified_name
    if relation.replica_identity != "default" and relation.kind in ("table",
                                                                    "partitioned_table"):
        p.emit("relation_options", f"ALTER TABLE {qname} REPLICA IDENTITY "
               f"{_replica_identity(relation.replica_identity)}", subject=subject)
    if relation.rls_enabled:
        p.emit("rls", f"ALTER TABLE {qname} ENABLE ROW LEVEL SECURITY", subject=subject)
    if relation.rls_forced:
        p.emit("rls", f"ALTER TABLE {qname} FORCE ROW LEVEL SECURITY", subject=subject)
    for policy in relation.policies:
        _create_policy(p, relation, policy)
    for trigger in relation.triggers:
        _create_trigger(p, relation, trigger)
    for constraint in relation.constraints:
        if constraint.comment is not None:
            p.emit("comments", f"COMMENT ON CONSTRAINT {quote(constraint.name)} ON {qname} IS "
                   f"{_text(constraint.comment)}", subject=subject)
    for index in relation.indexes:
        if index.comment is not None:
            p.emit("comments", f"COMMENT ON INDEX {qualify(relation.schema, index.name)} IS "
                   f"{_text(index.comment)}", subject=subject)
        if created:
            _index_marks(p, relation, index)
    for rule in relation.rules:
        _create_rule(p, relation, rule)
    _comment_acl_owner(p, word, qname, relation, "r", created=created)


def _replica_identities_rebuilt(p: _Plan) -> None:
    """A table whose replica identity is an index that the script drops and builds again
    (a new definition; a key or index taken off around a function or a column) is left
    with none by the `DROP` (`relreplident` stays `i`, no index is marked): it is set again
    after the build, unless a change of the table's own replica identity sets it."""
    rebuilt = {c.identity for c in p.changes if c.kind in ("index", "constraint")
               and c.action == ALTER and c.attribute == "definition"}
    rebuilt |= p.rebuilt_indexes | p.rebuilt_checks
    for relation in p.target.relations:
        key = (relation.schema, relation.name)
        source = p.source.relation(*key)
        if not relation.replica_identity.startswith("index ") or source is None \
                or source.replica_identity != relation.replica_identity \
                or key in p.dropped_relations:
            continue
        index = relation.replica_identity.removeprefix("index ")
        if (*key, index) in rebuilt:
            _replica_identity_gap(p, relation, index)
            p.emit("relation_options", f"ALTER TABLE {qualify(*key)} REPLICA IDENTITY "
                   f"{_replica_identity(relation.replica_identity)}",
                   subject=relation.qualified_name)


def _replica_identity_gap(p: _Plan, relation: Relation, index: str) -> None:
    """Name, on the DROP of a published table's replica identity index (or of the key it
    backs), the window until `REPLICA IDENTITY USING INDEX` after its build: PostgreSQL
    refuses UPDATE and DELETE on the table meanwhile (55000), where a publication of the
    source publishes them."""
    publications = sorted(
        publication.name for publication in p.source.publications
        if {"update", "delete"} & set(publication.operations) and (
            publication.all_tables or relation.qualified_name in publication.tables
            or relation.schema in publication.schemas))
    if not publications:
        return
    doing = " and ".join(o.upper() for o in ("update", "delete") if any(
        o in x.operations for x in p.source.publications if x.name in publications))
    hazard = Hazard("replica-identity-gap", f"`{index}` is the replica identity of "
                    f"`{relation.qualified_name}`, which {', '.join(publications)} "
                    f"publish{'es' if len(publications) == 1 else ''}: from this DROP until "
                    "REPLICA IDENTITY USING INDEX after its build, its "
                    f"{doing} fail (55000).")
    subject = f"{relation.qualified_name}.{index}"
    for statements in p.phases.values():
        for at, statement in enumerate(statements):
            if statement.subject == subject and (statement.sql.startswith("DROP INDEX")
                                                 or " DROP CONSTRAINT " in statement.sql):
                statements[at] = replace(statement, hazards=(*statement.hazards, hazard))


def _replica_identity(value: str) -> str:
    if value.startswith("index "):
        return f"USING INDEX {quote(value.removeprefix('index '))}"
    return value.upper()


def _alter_relation(p: _Plan, c: Change, relation: Relation) -> None:
    qname = qualify(relation.schema, relation.name)
    word = _OBJECT_WORD[relation.kind]
    a = c.attribute
    if a in ("definition", "populated"):
        return  # views are recreated (see _mark_views_to_recreate), refreshed in _views
    if a == "partition_of":
        check = _detach(p, relation, c.old) if c.old else None
        if c.new:
            p.emit("attach", f"ALTER TABLE {_dotted(c.new)} ATTACH PARTITION {qname} "
                   f"{relation.partition_bound}",
                   Hazard("long-scan", f"Scans `{c.subject}` to check the partition bound "
                          "unless a matching CHECK constraint exists."), subject=c.subject)
        if check is not None:
            p.emit("attach" if c.new else "detach", check, subject=c.subject)
    elif a == "partition_bound":
        if any(x.identity == c.identity and x.attribute == "partition_of" for x in p.changes):
            return
        source_relation = p.source.relation(*c.identity)
        parent = source_relation.partition_of if source_relation else None
        if parent:
            check = _detach(p, relation, parent, Hazard(
                "data-loss", f"`{c.subject}` leaves `{parent}` until it is attached again "
                f"with its new bound: its rows are not read through `{parent}` in between, "
                "and stay out of it if one falls outside the new bound (the ATTACH then "
                "fails, 23514)."))
            p.emit("attach", f"ALTER TABLE {_dotted(parent)} ATTACH PARTITION {qname} "
                   f"{c.new}", Hazard("long-scan", f"Scans `{c.subject}` to check the new "
                                      "bound."), subject=c.subject)
            if check is not None:
                p.emit("attach", check, subject=c.subject)
    elif a == "inherits":
        for parent in c.old:
            if parent not in c.new:
                p.emit("detach", f"ALTER TABLE {qname} NO INHERIT {_dotted(parent)}",
                       subject=c.subject)
        for parent in c.new:
            if parent not in c.old:
                p.emit("attach", f"ALTER TABLE {qname} INHERIT {_dotted(parent)}",
                       subject=c.subject)
    elif a == "options":
        removed = [o.partition("=")[0] for o in c.old
                   if o.partition("=")[0] not in {n.partition("=")[0] for n in c.new}]
        if removed:
            p.emit("relation_options", f"ALTER {word} {qname} RESET ({', '.join(removed)})",
                   subject=c.subject)
        if c.new:
            p.emit("relation_options", f"ALTER {word} {qname} SET ({', '.join(c.new)})",
                   subject=c.subject)
    elif a == "server" and c.new and c.old:
        p.emit("relation_options", f"-- foreign table {qname} moves to server "
               f"{quote(c.new)}: PostgreSQL cannot alter that; drop and create it",
               Hazard("not-generated", f"`{c.subject}` changes server."), subject=c.subject)
    elif a == "foreign_options":
        old = dict(o.partition("=")[::2] for o in c.old)
        new = dict(o.partition("=")[::2] for o in c.new)
        actions = [f"DROP {quote(k)}" for k in old if k not in new]
        actions += [f"SET {quote(k)} {literal(v)}" for k, v in new.items()
                    if k in old and old[k] != v]
        actions += [f"ADD {quote(k)} {literal(v)}" for k, v in new.items() if k not in old]
        p.emit("relation_options", f"ALTER FOREIGN TABLE {qname} OPTIONS "
               f"({', '.join(actions)})", subject=c.subject)
    elif a == "unlogged":
        p.emit("relation_options", f"ALTER TABLE {qname} SET {'UNLOGGED' if c.new else 'LOGGED'}",
               Hazard("table-rewrite", f"Rewrites `{c.subject}` under an ACCESS EXCLUSIVE "
                      "lock" + ("; unlogged, its rows are emptied after a crash and not "
                                "replicated." if c.new else ", writing all of it to the WAL.")),
               subject=c.subject)
    elif a == "replica_identity":
        p.emit("relation_options", f"ALTER TABLE {qname} REPLICA IDENTITY "
               f"{_replica_identity(c.new)}", subject=c.subject)
    elif a == "rls_enabled":
        p.emit("rls", f"ALTER TABLE {qname} {'ENABLE' if c.new else 'DISABLE'} ROW LEVEL "
               "SECURITY", subject=c.subject)
    elif a == "rls_forced":
        p.emit("rls", f"ALTER TABLE {qname} {'FORCE' if c.new else 'NO FORCE'} ROW LEVEL "
               "SECURITY", subject=c.subject)
    else:
        _alter_common(p, c, word, qname, "r")


def _detach(p: _Plan, relation: Relation, parent: str, *hazards: Hazard) -> str | None:
    """Emit the DETACH of `relation` from `parent`: CONCURRENTLY unless the parent has a
    default partition (PostgreSQL refuses it then).

    DETACH ... CONCURRENTLY adds a CHECK constraint of the old bound to the partition (so
    that attaching it again may skip the scan). The DROP of it is returned, for after the
    ATTACH; for a partition with partitions of its own it is emitted at once, while the drop
    still reaches the copies its partitions inherit. None: nothing to drop."""
    qname = qualify(relation.schema, relation.name)
    concurrently = not _has_default_partition(p.source, parent)
    p.emit("detach", f"ALTER TABLE {_dotted(parent)} DETACH PARTITION {qname}"
           + (" CONCURRENTLY" if concurrently else ""), *hazards,
           transactional=not concurrently, subject=relation.qualified_name)
    name = _detach_check_name(p, relation, parent) if concurrently else None
    p.detached.add(relation.qualified_name)
    if name is None or any(k.name == name for k in relation.constraints):
        return None  # a name not foreseen, or one the target keeps
    drop = f"ALTER TABLE {qname} DROP CONSTRAINT IF EXISTS {quote(name)}"
    if any(r.partition_of == relation.qualified_name for r in p.source.relations):
        p.emit("detach", drop, subject=relation.qualified_name)
        return None
    return drop


def _detach_check_name(p: _Plan, relation: Relation, parent: str) -> str | None:
    """ChooseConstraintName (PostgreSQL's naming of an unnamed constraint) for the check of
    a partition's bound: `<table>_<column>_check` when the bound reads one column, else
    `<table>_check`, numbered after `check` while the name is taken in the schema. The bound
    reads the partition keys of the parent and of each ancestor still attached."""
    columns: set[str] = set()
    ancestor = p.source.relation(*_split(parent))
    while ancestor is not None:
        key = _partition_key_columns(ancestor.partition_key)
        if key is None:
            return None
        columns |= key
        attached = ancestor.partition_of and ancestor.qualified_name not in p.detached
        ancestor = p.source.relation(*_split(ancestor.partition_of or "")) if attached else None
    taken = {k.name for r in p.source.relations if r.schema == relation.schema
             for k in r.constraints}
    taken |= {k.name for d in p.source.domains if d.schema == relation.schema
              for k in d.constraints}
    column = next(iter(columns)) if len(columns) == 1 else None
    number = 0
    while True:
        name = object_name(relation.name, column, f"check{number or ''}")
        if name not in taken:
            return name
        number += 1


@functools.lru_cache(maxsize=256)
def _partition_key_columns(partition_key: str | None) -> frozenset[str] | None:
    """The columns a partition key (`LIST (status)`, `RANGE (lower(name), id)`) reads, as
    pglast parses it; None where there is no key or it does not parse. Each key is parsed
    once: `_keyed_by` asks for every column of every partition it walks.

    >>> sorted(_partition_key_columns("RANGE (lower(name), id)"))
    ['id', 'name']
    """
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    if not partition_key:
        return None
    try:
        statement = parse_sql(f"CREATE TABLE x () PARTITION BY {partition_key}")
    except ParseError:
        return None
    spec = statement[0].stmt.partspec if isinstance(statement[0].stmt, ast.CreateStmt) else None
    columns: set[str] = set()
    for element in (spec.partParams or ()) if spec is not None else ():
        if element.name:
            columns.add(str(element.name))
        else:
            columns |= column_names(element.expr)
    return frozenset(columns)


def _keyed_by(p: _Plan, relation: Relation, column: str) -> str | None:
    """The partitioned table, `relation` or a partition of it at any depth, whose partition
    key reads `column`: PostgreSQL refuses to change the type of such a column (`relation`'s
    ALTER COLUMN ... TYPE reaches its partitions), so its name explains a `not-generated`."""
    tables = [relation]
    while tables:
        table = tables.pop()
        if column in (_partition_key_columns(table.partition_key) or ()):
            return table.qualified_name
        tables += [r for r in p.source.relations if r.partition_of == table.qualified_name]
    return None


def _has_default_partition(snapshot: SchemaSnapshot, parent: str) -> bool:
    return any(r.partition_of == parent and r.partition_bound == "DEFAULT"
               for r in snapshot.relations)


# -- views -----------------------------------------------------------------------------------


def _views_reading_column(p: _Plan, schema: str, table: str,
                          column: str) -> set[tuple[str, ...]]:
    """The views PostgreSQL refuses to let `column` change type under: those reading it (any
    view of the table, for a snapshot that does not know which columns views read)."""
    dotted, column_key = f"{schema}.{table}", f"{schema}.{table}.{column}"
    return {(r.schema, r.name) for r in p.source.relations if dotted in r.depends_on and (
        r.depends_on_columns is None or column_key in r.depends_on_columns)}


def _mark_views_to_recreate(p: _Plan) -> None:
    """Views to drop before their inputs change and create again afterwards."""
    changed_inputs: set[str] = set()
    changed_columns: set[str] = set()  # "schema.table.column": dropped or retyped
    replaceable: set[tuple[str, ...]] = set()
    for c in p.changes:
        if c.kind == "view" and c.action == ALTER and c.attribute == "definition" \
                and _replaceable_view(p, c.identity) and c.identity not in p.recreate_views:
            replaceable.add((c.identity[0], c.identity[1]))
        elif c.kind in ("view", "materialized_view") and (
                c.action == DROP or (c.action == ALTER and c.attribute == "definition")):
            p.recreate_views.add((c.identity[0], c.identity[1]))
        if c.kind in _TABLE_KINDS and c.action == DROP:
            changed_inputs.add(c.subject)
        if c.kind in _TABLE_KINDS and c.attribute == "partition_key":
            changed_inputs.add(c.subject)  # dropped and created again
        if c.kind == "column" and (c.action == DROP or c.attribute in ("type", "collation",
                                                                       "generated")):
            changed_columns.add(".".join(c.identity[:3]))
        if c.kind == "column" and c.attribute == "expression" and not _set_expression(p):
            changed_columns.add(".".join(c.identity[:3]))  # dropped and added again
        if c.kind == "function" and c.action == DROP:
            changed_inputs.add(c.subject)
    changed_tables = {column.rpartition(".")[0] for column in changed_columns}
    dropped_last: set[str] | None = None
    for relation in p.source.relations:
        # PostgreSQL refuses to drop or retype only a column a view reads (a whole-row
        # reference or count(*) reads none): views reading others of the table stay, with
        # their grants and dependents. Without the columns known, any view of the table.
        key, reads = (relation.schema, relation.name), relation.depends_on_columns
        if any(d in changed_inputs for d in relation.depends_on) or (
                reads is None and any(d in changed_tables for d in relation.depends_on)):
            p.recreate_views.add(key)
            continue
        read = {c for c in reads or () if c in changed_columns}
        if not read:
            continue
        if key in replaceable:
            # A column dropped in the script's last steps is still there when the view is
            # replaced among the views, by a query that no longer reads it: no gap.
            if dropped_last is None:
                dropped_last = _columns_dropped_last(p)  # once: it reads every table
            if read <= dropped_last:
                continue
        p.recreate_views.add(key)
    # Views reading a view that is recreated are recreated too.
    grew = True
    while grew:
        grew = False
        for relation in p.source.relations:
            key = (relation.schema, relation.name)
            if key in p.recreate_views:
                continue
            if any(_split(d) in p.recreate_views for d in relation.depends_on):
                p.recreate_views.add(key)
                grew = True
    # What is not dropped for another reason (its inputs change) is replaced where it stands.
    p.replace_views = replaceable - p.recreate_views


def _columns_dropped_last(p: _Plan) -> set[str]:
    """The columns ("schema.table.column") whose `DROP COLUMN` comes in the script's last
    steps (`drop_columns`), after the views: a view that reads one can be replaced before it
    goes. Not a column dropped with its table, added again under its name, dropped by a
    parent's drop or before a table joins a parent (`_column_drop_phase`)."""
    changes = [c for c in p.changes if c.kind == "column"]
    family, joining = _Family(p, changes), _joining(p)
    found: set[str] = set()
    for c in changes:
        key = (c.identity[0], c.identity[1])
        old, new = p.source.relation(*key), p.target.relation(*key)
        if c.action != DROP or old is None or new is None or old.kind not in _TABLE_KINDS \
                or new.kind != old.kind or key in p.created_relations \
                or key in p.dropped_relations or new.column(c.identity[2]) is not None \
                or _propagated(p, c):
            continue
        if _column_drop_phase(c, new, family, joining) == "drop_columns":
            found.add(".".join(c.identity[:3]))
    return found


def _column_drop_phase(c: Change, relation: Relation, family: _Family,
                       joining: dict[str, set[str]]) -> str:
    """The phase of a column's `DROP COLUMN`: before a descendant's change of it
    (`columns`), before a table joins its parent (ATTACH PARTITION wants the same columns
    on both sides, INHERIT the parent's on the child: `drop_attach_columns`), else with
    what loses data, last."""
    parent = f"{c.identity[0]}.{c.identity[1]}"
    early = parent in joining or parent in joining.get(relation.partition_of or "", ())
    return "columns" if family.drops_early(c) else \
        "drop_attach_columns" if early else "drop_columns"


def _replaceable_view(p: _Plan, identity: tuple[str, ...]) -> bool:
    """Whether `CREATE OR REPLACE VIEW` turns the source's view into the target's:
    PostgreSQL lets it keep every column's name, type and collation in its place and append
    new ones, nothing else (42P16 otherwise); a materialized view it cannot replace."""
    old, new = p.source.relation(*identity[:2]), p.target.relation(*identity[:2])
    if old is None or new is None or old.kind != "view" or new.kind != "view" \
            or len(new.columns) < len(old.columns) or not old.columns:
        return False
    return all((a.name, a.type, a.collation) == (b.name, b.type, b.collation)
               for a, b in zip(old.columns, new.columns))


def _views(p: _Plan) -> None:
    # Drop: dependents first, by the source's dependencies.
    to_drop = [p.source.relation(*key) for key in p.recreate_views]
    for relation in _dependency_order([r for r in to_drop if r is not None], reverse=True):
        word = _OBJECT_WORD[relation.kind]
        p.dropped_relations.add((relation.schema, relation.name))
        hazards: tuple[Hazard, ...] = ()
        again = p.target.relation(relation.schema, relation.name)
        if again is None:
            hazards = (Hazard("data-loss", f"Drops {word.lower()} `{relation.qualified_name}`; "
                              "queries that use it fail."),)
        elif again.kind in ("view", "materialized_view"):
            hazards = (Hazard("view-gap", f"`{relation.qualified_name}` is dropped here and "
                              "created again after the script's table, column and index "
                              f"steps: in between, queries that use it fail (42P01). "
                              f"{_why_dropped(p, relation, again)}"),)
        p.emit("drop_views", f"DROP {word} {qualify(relation.schema, relation.name)}",
               *hazards, subject=relation.qualified_name)
    # Create: what is new or recreated, inputs first, by the target's dependencies.
    keys = set(p.recreate_views)
    keys |= {c.identity for c in p.changes
             if c.kind in ("view", "materialized_view") and c.action == ADD}
    to_create = [p.target.relation(*key) for key in keys | p.replace_views]
    for relation in _dependency_order([r for r in to_create if r is not None]):
        if relation.kind not in ("view", "materialized_view"):
            continue
        if (relation.schema, relation.name) in p.replace_views:
            _replace_view(p, relation)
        else:
            _create_view(p, relation)
    # Refresh: a materialized view kept that the target has populated (or emptied), inputs
    # first (REFRESH reads the views it depends on, which must be populated by then).
    refreshed = [p.target.relation(*c.identity) for c in p.changes
                 if c.attribute == "populated" and c.identity not in keys]
    for relation in _dependency_order([r for r in refreshed if r is not None]):
        qname = qualify(relation.schema, relation.name)
        if relation.populated:
            p.emit("view_indexes", f"REFRESH MATERIALIZED VIEW {qname}",
                   Hazard("long-scan", f"Runs the query of `{relation.qualified_name}` to "
                          "populate it, which can take long; it is locked ACCESS EXCLUSIVE "
                          "meanwhile (it could not be read before either)."),
                   subject=relation.qualified_name)
        else:
            p.emit("view_indexes", f"REFRESH MATERIALIZED VIEW {qname} WITH NO DATA",
                   Hazard("data-loss", f"Empties `{relation.qualified_name}`: selecting from "
                          "it fails until it is refreshed."), subject=relation.qualified_name)


def _dependency_order(relations: list[Relation], *, reverse: bool = False) -> list[Relation]:
    by_name = {r.qualified_name: r for r in relations}
    ordered: list[Relation] = []
    seen: set[str] = set()

    def visit(relation: Relation) -> None:
        if relation.qualified_name in seen:
            return
        seen.add(relation.qualified_name)
        for dependency in relation.depends_on:
            if dependency in by_name:
                visit(by_name[dependency])
        ordered.append(relation)

    for relation in sorted(relations, key=lambda r: r.qualified_name):
        visit(relation)
    return ordered[::-1] if reverse else ordered


def _why_dropped(p: _Plan, old: Relation, new: Relation) -> str:
    """Why a view the target keeps is dropped rather than replaced where it stands."""
    key = (old.schema, old.name)
    redefined = any(c.identity == key and c.attribute == "definition" for c in p.changes)
    if redefined and old.kind != "view":
        return "(A materialized view cannot be replaced.)"
    if redefined and not _replaceable_view(p, key):
        return ("(Its columns change other than by new ones at the end, which CREATE OR "
                "REPLACE VIEW refuses, 42P16.)")
    return "(It reads what changes, which PostgreSQL refuses to change while it stands.)"


def _replace_view(p: _Plan, relation: Relation) -> None:
    """`CREATE OR REPLACE VIEW` where it stands, once its inputs are made: it keeps its
    grants, owner, comment and the views reading it (their own changes are ALTERs); the
    columns it appends get their comments and grants."""
    qname = qualify(relation.schema, relation.name)
    definition = (relation.definition or "").rstrip().rstrip(";")
    options = f" WITH ({', '.join(relation.options)})" if relation.options else ""
    p.emit("views", f"CREATE OR REPLACE VIEW {qname}{options} AS\n{definition}",
           subject=relation.qualified_name)
    old = p.source.relation(relation.schema, relation.name)
    for column in relation.columns[len(old.columns) if old else 0:]:
        col = quote(column.name)
        if column.comment is not None:
            p.emit("comments", f"COMMENT ON COLUMN {qname}.{col} IS {_text(column.comment)}",
                   subject=relation.qualified_name)
        if column.acl:
            _grants(p, f"TABLE {qname}", (), column.acl, "c", None,
                    f"{relation.qualified_name}.{column.name}", column=col)


def _create_view(p: _Plan, relation: Relation) -> None:
    qname = qualify(relation.schema, relation.name)
    definition = (relation.definition or "").rstrip().rstrip(";")
    options = f" WITH ({', '.join(relation.options)})" if relation.options else ""
    if relation.kind == "view":
        p.emit("views", f"CREATE VIEW {qname}{options} AS\n{definition}",
               subject=relation.qualified_name)
    else:
        was = p.source.relation(relation.schema, relation.name)
        hazards: list[Hazard] = []  # WITH NO DATA computes nothing
        if relation.populated:
            hazards.append(Hazard("long-scan",
                                  f"Computes `{relation.qualified_name}` from its inputs."))
        elif was is not None and was.kind == "materialized_view" and was.populated:
            hazards.append(Hazard("data-loss", f"Creates `{relation.qualified_name}` empty: "
                                  "selecting from it fails until it is refreshed."))
        data = "WITH DATA" if relation.populated else "WITH NO DATA"
        p.emit("views", f"CREATE MATERIALIZED VIEW {qname}{options} AS\n{definition}\n{data}",
               *hazards, subject=relation.qualified_name)
        for index in relation.indexes:
            p.emit("view_indexes", _concurrent_index(index.definition),
                   transactional=False, subject=f"{relation.qualified_name}.{index.name}")
    word = _OBJECT_WORD[relation.kind]
    for column in relation.columns:
        col = quote(column.name)
        if column.statistics is not None:  # a materialized view's column
            p.emit("views", f"ALTER {word} {qname} ALTER COLUMN {col} SET STATISTICS "
                   f"{column.statistics}", subject=relation.qualified_name)
        if column.comment is not None:
            p.emit("comments", f"COMMENT ON COLUMN {qname}.{col} IS "
                   f"{_text(column.comment)}", subject=relation.qualified_name)
    _relation_extras(p, relation, created=True)


# -- columns -------------------------------------------------------------------------------------


def _propagated(p: _Plan, c: Change) -> bool:
    """A change on a partition or child that its parent's same change already makes."""
    relation = p.target.relation(c.identity[0], c.identity[1]) or \
        p.source.relation(c.identity[0], c.identity[1])
    if relation is None:
        return False
    # Constraints are dropped before partitions are detached: a parent's drop still
    # reaches the copies of the children that leave it.
    dropping = c.kind == "constraint" and c.action == DROP
    for parent in _parents_throughout(p, (c.identity[0], c.identity[1]), before=dropping):
        schema, name = _split(parent)
        twin = (schema, name, *c.identity[2:])
        if any(x.kind == c.kind and x.action == c.action and x.attribute == c.attribute
               for x in p.changes_of(twin)):
            return True
        if c.kind == "constraint" and any(
                x.kind == "constraint" and x.action == ALTER and x.attribute == "definition"
                for x in p.changes_of(twin)):
            # The parent's constraint is dropped and added again: its copy goes with the
            # drop and, unless it becomes NO INHERIT, comes back with the add.
            return True
        if c.kind == "constraint" and c.action == ALTER and c.attribute == "definition" \
                and relation.partition_of and any(
                    x.kind == "constraint" and x.action == ALTER
                    and x.attribute == "definition" and x.identity[:2] == (schema, name)
                    and (x.old, x.new) == (c.old, c.new) for x in p.changes):
            # A partition's copy of its parent's redefined key, under a name of its own.
            return True
        if c.kind == "constraint" and c.action in (ADD, DROP) and relation.partition_of:
            # A partition's copy of its parent's key has a name of its own.
            mine = c.new if c.action == ADD else c.old
            if any(x.kind == "constraint" and x.action == c.action
                   and x.identity[:2] == (schema, name)
                   and (x.new if x.action == ADD else x.old).definition == mine.definition
                   for x in p.changes):
                return True
    return False


def _parents_throughout(p: _Plan, key: tuple[str, ...], *, before: bool = False) -> list[str]:
    """The parents (partitioned or inherited) a table has while its columns and constraints
    change: those of the source it keeps. One it only joins in this plan is joined after
    (ATTACH PARTITION, INHERIT), so its changes do not reach the table; a new table is
    created with its parents. `before`: all the source's, for what runs before the
    detaches."""
    source, target = p.source.relation(*key), p.target.relation(*key)
    if before and source is not None:
        return [x for x in (source.partition_of, *source.inherits) if x]
    if source is None or target is None or key in p.created_relations:
        either = target or source
        return [x for x in (either.partition_of, *either.inherits) if x] if either else []
    kept = {source.partition_of, *source.inherits}
    return [x for x in (target.partition_of, *target.inherits) if x and x in kept]


def _joining(p: _Plan) -> dict[str, set[str]]:
    """Tables that join a parent in this plan (ATTACH PARTITION, INHERIT), by parent."""
    found: dict[str, set[str]] = {}
    for target in p.target.relations:
        key = (target.schema, target.name)
        source = p.source.relation(*key)
        if source is None or key in p.created_relations:
            continue
        before = {source.partition_of, *source.inherits}
        for parent in (target.partition_of, *target.inherits):
            if parent and parent not in before:
                found.setdefault(parent, set()).add(target.qualified_name)
    return found


def _columns(p: _Plan, changes: list[Change]) -> None:
    joining: dict[str, set[str]] | None = None
    # PostgreSQL refuses to change the type of a column a generated column reads: those
    # generated columns are dropped first and added again afterwards (their values are
    # computed, so nothing is lost).
    regenerated: dict[tuple[str, ...], str] = {}  # column -> why it is dropped and added
    for c in changes:
        if c.action == ALTER and c.attribute == "expression" and not _set_expression(p):
            regenerated[c.identity] = (
                "gets a new expression, which PostgreSQL before 17 cannot set in place")
        if c.action == ALTER and c.attribute in ("type", "collation"):
            relation = p.source.relation(c.identity[0], c.identity[1])
            target_relation = p.target.relation(c.identity[0], c.identity[1])
            if relation is None or target_relation is None:
                continue
            word = re.compile(rf"(?<![\w\"]){re.escape(c.identity[2])}(?![\w\"])")
            for reader in relation.columns:
                if reader.generated and reader.default and word.search(reader.default) and \
                        target_relation.column(reader.name) is not None:
                    regenerated.setdefault((c.identity[0], c.identity[1], reader.name),
                                           "reads a column whose type changes")
    for (schema, table_name, column_name), why in sorted(regenerated.items()):
        _mark_users_of_dropped_column(p, schema, table_name, column_name)
        table = qualify(schema, table_name)
        p.emit("columns", f"ALTER TABLE {table} DROP COLUMN {quote(column_name)}",
               Hazard("access-exclusive-lock", f"Generated column `{schema}.{table_name}."
                      f"{column_name}` {why}: it is dropped and added again (recomputed); "
                      "queries that read it fail in between."),
               subject=f"{schema}.{table_name}.{column_name}")
    family = _Family(p, changes)
    for c in family.ordered(_types_before_identities(changes)):
        if c.action == REORDER or c.identity in regenerated:
            continue
        table_key = (c.identity[0], c.identity[1])
        if table_key in p.created_relations or (table_key in p.dropped_relations \
                and p.target.relation(*table_key) is None):
            continue
        relation = p.target.relation(*table_key) or p.source.relation(*table_key)
        if relation is None or relation.kind not in _TABLE_KINDS or (
                _propagated(p, c) and not family.drops_its_own(c)):
            continue
        table = qualify(*table_key)
        subject = c.subject
        if c.action == ADD:
            held = family.held_retype(c)
            if held is not None:
                p.emit("columns", f"-- ALTER TABLE {table} ADD COLUMN {quote(c.new.name)} is "
                       f"not generated: `{held}` keeps its type",
                       Hazard("not-generated", f"`{subject}` merges with `{held}`, an "
                              "inheriting table's own column, which must first get its type "
                              "and collation (42804, 42P21), and that change is not generated "
                              "(above): change it, then add the column, by hand."),
                       subject=subject)
                continue
            _add_column(p, relation, c.new)
        elif c.action == DROP:
            column: Column = c.old
            renamed = [x.new.name for x in p.changes
                       if x.kind == "column" and x.action == ADD and x.identity[:2] == table_key
                       and x.new.type == column.type]
            hazards = [Hazard("data-loss", f"Drops column `{subject}` and its data.")]
            if renamed:
                hazards.append(Hazard("possible-rename", f"`{renamed[0]}` is added with the "
                                      f"same type: if this is a rename, use ALTER TABLE {table} "
                                      f"RENAME COLUMN {quote(column.name)} TO "
                                      f"{quote(renamed[0])} instead and keep the data."))
            parent = f"{table_key[0]}.{table_key[1]}"
            kept = family.kept_below(parent, column.name)
            if kept:
                # ONLY: the inheriting tables keep the column, as their own, with its data
                hazards = [Hazard("data-loss", f"Drops column `{subject}` and its data; "
                                  f"{', '.join(f'`{k}`' for k in kept)} "
                                  f"{'keeps its' if len(kept) == 1 else 'keep their'} own.")]
            if joining is None:
                joining = _joining(p)  # once: it reads every table of the target
            phase = _column_drop_phase(c, relation, family, joining)
            if kept and not column.nullable:
                # Dropped with ONLY, the column leaves its inheritors their copies of its
                # NOT NULL constraint still inherited (PostgreSQL 18), which none can drop
                # then (42P16); ONLY DROP NOT NULL first leaves them theirs.
                p.emit(phase, f"ALTER TABLE ONLY {table} ALTER COLUMN {quote(column.name)} "
                       "DROP NOT NULL", subject=subject)
            p.emit(phase, f"ALTER TABLE {'ONLY ' if kept else ''}{table} DROP COLUMN "
                   f"{quote(column.name)}", *hazards, subject=subject)
        else:
            _alter_column(p, c, relation, table)
            family.note_held(c, p.phases.get("columns", []))
    for schema, table_name, column_name in sorted(regenerated):
        target_relation = p.target.relation(schema, table_name)
        again = target_relation.column(column_name) if target_relation else None
        if target_relation is not None and again is not None:
            _add_column(p, target_relation, again)


class _Family:
    """What inheritance (`INHERITS`, not partitions) asks of the order of column changes.

    PostgreSQL merges a parent's `ADD COLUMN` with a child's own column of that name only
    when their types and collations are the same (42804, 42P21), and refuses to change an
    inherited column (`ALTER COLUMN ... TYPE`, its NOT NULL) or to drop one ("cannot alter
    inherited column", "cannot drop inherited constraint"). So a descendant's column changes
    its type before an ancestor's `ADD COLUMN` merges with it, and an ancestor's `DROP
    COLUMN` that leaves it to a descendant (`ONLY`) comes before that descendant's changes
    of it, parents before children at every level.
    """

    def __init__(self, p: _Plan, changes: list[Change]) -> None:
        # The target's tables inheriting each table ("schema.name"); only when some do.
        self.children: dict[str, list[Relation]] = {}
        for relation in p.target.relations:
            for parent in relation.inherits:
                self.children.setdefault(parent, []).append(relation)
        self.changes = changes if self.children else []
        self.held: set[tuple[str, ...]] = set()  # retypes emitted as a not-generated note

    def below(self, table: str) -> set[str]:
        """The target's tables that inherit `table`, at any depth."""
        found: set[str] = set()
        todo = [table]
        while todo:
            for child in self.children.get(todo.pop(), []):
                if child.qualified_name not in found:
                    found.add(child.qualified_name)
                    todo.append(child.qualified_name)
        return found

    def kept_below(self, table: str, column: str) -> list[str]:
        """The tables under `table` that keep `column` in the target: its `DROP COLUMN`
        is `ONLY` then, so they keep it as their own, with its values."""
        return sorted(name for name in self.below(table)
                      if (r := _relation_named(self.children, name)) is not None
                      and r.column(column) is not None)

    def _meets(self, a: Change, b: Change) -> bool:
        """Whether the tables of `a` and `b` share a table under them (one of them, or a
        table inheriting both)."""
        a_table, b_table = ".".join(a.identity[:2]), ".".join(b.identity[:2])
        return bool(self.below(a_table) & ({b_table} | self.below(b_table)))

    def _retypes(self, c: Change) -> list[Change]:
        return [x for x in self.changes if x.kind == "column" and x.action == ALTER
                and x.attribute in ("type", "collation") and x.identity[2] == c.identity[2]
                and x.identity != c.identity]

    def merged_by_add(self, c: Change) -> bool:
        """A type or collation change that an ancestor's `ADD COLUMN` waits for."""
        return c.action == ALTER and c.attribute in ("type", "collation") and any(
            x.action == ADD and x.identity[2] == c.identity[2] and self._meets(x, c)
            for x in self.changes if x.kind == "column")

    def drops_early(self, c: Change) -> bool:
        """A `DROP COLUMN ONLY` that a descendant's change of the column waits for."""
        if c.action != DROP or not self.changes:
            return False
        below = self.below(".".join(c.identity[:2]))
        return any(x.kind == "column" and x.action == ALTER and x.identity[2] == c.identity[2]
                   and x.attribute not in ("comment", "acl") and ".".join(x.identity[:2]) in below
                   for x in self.changes)

    def drops_its_own(self, c: Change) -> bool:
        """A child's `DROP COLUMN` that its parent's drop does not make: the parent's is
        `ONLY` (a table under it keeps the column), or the child's column is its own too
        (`attislocal`), which a parent's drop leaves."""
        if c.kind != "column" or c.action != DROP or not self.changes:
            return False
        column: Column = c.old
        return not column.inherited or any(
            self.kept_below(parent, column.name) for parent in self._parents(c))

    def _parents(self, c: Change) -> list[str]:
        return [parent for parent, children in self.children.items()
                if any((r.schema, r.name) == c.identity[:2] for r in children)]

    def _depth(self, c: Change) -> int:
        """How many tables above the change's (parents' drops before their children's)."""
        depth, level = 0, {".".join(c.identity[:2])}
        while level := {parent for parent, children in self.children.items()
                        if any(r.qualified_name in level for r in children)}:
            depth += 1
            if depth > len(self.children):
                break  # (no cycle in a catalog; a hand-made snapshot may have one)
        return depth

    def ordered(self, changes: list[Change]) -> list[Change]:
        """`changes` with early drops first (parents first), then the type changes an
        `ADD COLUMN` merges with, then the rest; drops parents first throughout."""
        if not self.changes:
            return changes
        return sorted(changes, key=lambda c: (
            0 if self.drops_early(c) else 1 if self.merged_by_add(c) else 2,
            self._depth(c) if c.action == DROP else 0))

    def note_held(self, c: Change, emitted: list[Statement]) -> None:
        """Remember a merged type change `_alter_column` left for a human."""
        if self.merged_by_add(c) and emitted and emitted[-1].sql.startswith("--") \
                and emitted[-1].subject == c.subject \
                and any(h.kind == "not-generated" for h in emitted[-1].hazards):
            self.held.add(c.identity)

    def held_retype(self, c: Change) -> str | None:
        """The column whose type change, left for a human, an `ADD COLUMN` waits for."""
        for x in self._retypes(c):
            if x.identity in self.held and self._meets(c, x):
                return ".".join(x.identity)
        return None


def _plain_not_null(column: Column) -> Column:
    d = column.details
    if d is None or (d.not_null_name is None and not d.not_null_no_inherit
                     and not d.not_null_not_valid):
        return column
    details = replace(d, not_null_name=None, not_null_no_inherit=False,
                      not_null_not_valid=False)
    return replace(column, details=None if details == ColumnDetails() else details)


def _plain_not_nulls(relation: Relation) -> Relation:
    columns = tuple(_plain_not_null(c) for c in relation.columns)
    return relation if columns == relation.columns else replace(relation, columns=columns)


def _without_not_null_constraints(target: SchemaSnapshot, changes: Sequence[Change],
                                  ) -> tuple[SchemaSnapshot, list[Change],
                                             dict[tuple[str, ...], set[str]]]:
    """`target` and `changes` for a server before PostgreSQL 18, which keeps no NOT NULL
    constraint of its own (`ADD CONSTRAINT ... NOT NULL`, `ALTER CONSTRAINT ... NO INHERIT`
    and a NOT NULL's NOT VALID are 18's grammar): the target's columns with plain NOT NULLs
    (a NOT VALID one made validated), the changes of those constraints apart; and, by
    column, what of them is not made (`_not_null_constraints_unmade` says it)."""
    original = {(r.schema, r.name): r for r in target.relations}
    relations = tuple(_plain_not_nulls(r) for r in target.relations)
    if relations != target.relations:
        target = replace(target, relations=relations)
    kept: list[Change] = []
    unmade: dict[tuple[str, ...], set[str]] = {}

    def note(identity: tuple[str, ...], column: Column) -> None:
        what = {word for word, there in (
            (f"name {column.not_null_chosen_name}", column.not_null_chosen_name),
            ("NO INHERIT", column.not_null_no_inherit),
            ("NOT VALID", column.not_null_not_valid)) if there}
        if what:
            unmade.setdefault(identity, set()).update(what)

    for c in changes:
        if c.kind == "column" and c.attribute in _NOT_NULL_ATTRIBUTES:
            relation = original.get((c.identity[0], c.identity[1]))
            column = relation.column(c.identity[2]) if relation else None
            if column is not None:
                note(c.identity, column)
        elif c.action == ADD and isinstance(c.new, Column):
            note(c.identity, c.new)
            kept.append(replace(c, new=_plain_not_null(c.new)))
        elif c.action == ADD and isinstance(c.new, Relation):
            for column in c.new.columns:
                note((*c.identity, column.name), column)
            kept.append(replace(c, new=_plain_not_nulls(c.new)))
        else:
            kept.append(c)
    return target, kept, unmade


def _not_null_constraints_unmade(p: _Plan, unmade: dict[tuple[str, ...], set[str]]) -> None:
    """Say, a column once, what of the target's NOT NULL constraints (PostgreSQL 18) the
    source's older server cannot make."""
    for identity, what in unmade.items():
        subject = ".".join(identity)
        said = ", ".join(sorted(what, key=lambda w: (not w.startswith("name "), w)))
        p.emit("columns", f"-- column {subject}: its NOT NULL constraint ({said}) is not "
               "generated: the server is older than PostgreSQL 18",
               Hazard("not-generated", "PostgreSQL before 18 keeps no NOT NULL constraint of "
                      f"its own (no name, NO INHERIT or NOT VALID): `{subject}` is plainly "
                      "NOT NULL, validated."), subject=subject)


def _relation_named(children: dict[str, list[Relation]], name: str) -> Relation | None:
    return next((r for rs in children.values() for r in rs if r.qualified_name == name), None)


def _types_before_identities(changes: list[Change]) -> list[Change]:
    """`changes` with the identity change of a column whose type changes too after every
    other: ADD GENERATED gives the new sequence the column's type as it is then, and a
    smallint's sequence refuses the MAXVALUE of the integer the column becomes (22023)."""
    retyped = {c.identity for c in changes if c.action == ALTER and c.attribute == "type"}
    return sorted(changes, key=lambda c: c.action == ALTER and c.attribute == "identity"
                  and c.identity in retyped)


def _set_expression(p: _Plan) -> bool:
    """Whether the source's server can change a generated column's expression in place
    (`ALTER COLUMN ... SET EXPRESSION`, PostgreSQL 17)."""
    return _source_from(p, 170000)


def _source_from(p: _Plan, version: int) -> bool:
    """Whether the source's server (where the script runs) is `version` or later; a
    snapshot that does not say which server it came from is taken to be of a current one."""
    return p.source.server_version is None or p.source.server_version >= version


def _columns_kept_their_own(p: _Plan) -> None:
    """A kept child's own column (`attislocal`) that the target has from its parents alone
    (migra's `inherit2`): the parent's `ADD COLUMN` or the child's `INHERIT` merges with
    it, and it stays the child's own too, which no statement undoes but dropping it with
    its values. Said, as a later `DROP COLUMN` on the parent leaves it in the child."""
    for relation in p.target.relations:
        key = (relation.schema, relation.name)
        source = p.source.relation(*key) if relation.inherits else None
        if source is None or key in p.created_relations:
            continue
        for column in relation.columns:
            own = source.column(column.name)
            if not column.inherited or own is None or own.inherited:
                continue
            subject = f"{relation.qualified_name}.{column.name}"
            p.emit("after_attach", f"-- column {subject} stays the table's own "
                   "too, not its parents' alone",
                   Hazard("not-generated", f"`{subject}` is the table's own in the source and "
                          "only inherited in the target (attislocal): its parents' column "
                          "merges with it and it stays its own too, so a later DROP COLUMN on "
                          f"the parent leaves it in `{relation.qualified_name}`. No statement "
                          "makes it the parents' alone but dropping it with its values; "
                          "`dbsafe diff` does not compare it."), subject=subject)


def _add_column(p: _Plan, relation: Relation, column: Column) -> None:
    table = qualify(relation.schema, relation.name)
    subject = f"{relation.qualified_name}.{column.name}"
    hazards: list[Hazard] = []
    # PostgreSQL 18 keeps a NOT NULL constraint's name through a column rename (Lemmy's
    # `published` -> `published_at` kept `<table>_published_not_null`): where the source's
    # table still gives that name to a column the script drops later, the column is added
    # under a free one (42710 otherwise), renamed to a chosen one after the drops.
    interim = _free_not_null_name(p, relation, column)
    # A default calling a function the script creates after the columns (a SQL-standard
    # body reading tables): the column is added after that function, its default computed
    # for the rows as the target's was; where the function reads this very table (it may
    # read the column), the column comes first, without it, and its default after.
    phase = "columns"
    late = [] if column.generated else _calls_late(p, column.default)
    if late and any((relation.schema, relation.name) in _atomic_reads(f, p.target)
                    for f in late):
        p.reset_defaults.add((relation.schema, relation.name, column.name))
        hazards.append(Hazard("data-loss", f"The default of `{subject}` calls "
                              f"`{late[0].signature}`, which reads "
                              f"`{relation.qualified_name}` and so is created after the "
                              "column: the table's rows get NULL in it, not the default."))
        column = replace(column, default=None)
    elif late:
        phase = "function_users"
    definition = _column_definition(column, _identity_options(p, relation, column),
                                    not_null_name=interim)
    domain = _column_domain(p.target, column.type)
    if column.generated == "stored" or column.identity or (
            column.default is not None and _volatile(p.target, column.default)):
        hazards.append(Hazard("table-rewrite", f"Adding `{subject}` rewrites "
                              f"`{relation.qualified_name}` under an ACCESS EXCLUSIVE lock "
                              "(its value is computed for every row)."))
    elif domain is not None and (domain.constraints or not domain.nullable or (
            column.default is None and domain.default is not None
            and _volatile(p.target, domain.default))):
        hazards.append(Hazard("table-rewrite", f"Adding `{subject}` rewrites "
                              f"`{relation.qualified_name}` under an ACCESS EXCLUSIVE lock "
                              f"(its domain `{column.type}` is checked, or its default "
                              "computed, for every row)."))
    if not column.nullable and column.default is None and not column.identity \
            and not column.generated and not column.not_null_not_valid:
        hazards.append(Hazard("data-loss", f"`{subject}` is NOT NULL without a default: "
                              "adding it fails if the table has rows; backfill it first."))
    p.emit(phase, f"ALTER TABLE {table} ADD COLUMN {definition}", *hazards,
           subject=subject)
    if interim is not None and column.not_null_chosen_name is not None:
        p.emit("renames_after_drops", f"ALTER TABLE {table} RENAME CONSTRAINT "
               f"{quote(interim)} TO {quote(column.not_null_chosen_name)}", subject=subject)
    _column_extras(p, relation, column, interim, phase=phase)


def _free_not_null_name(p: _Plan, relation: Relation, column: Column) -> str | None:
    """A name for the NOT NULL constraint of `column`, added to an existing table, where
    the source's table gives the target's name to another constraint (None where it does
    not): `<table>_<column>_not_null`, with a number after it if that is taken too, cut to
    63 bytes before its suffix, so that it reads as a name PostgreSQL made."""
    source = p.source.relation(relation.schema, relation.name)
    if column.not_null_name is None or source is None or column.nullable:
        return None
    taken = {k.name for k in source.constraints} | {
        _not_null_name(source, c) for c in source.columns if not c.nullable}
    if column.not_null_name not in taken:
        return None
    prefix = f"{relation.name}_{column.name}".encode()

    def made(n: int) -> str:  # cut as PostgreSQL cuts it: the suffix stays, made-shaped
        suffix = f"_not_null{n or ''}"
        return prefix[:63 - len(suffix)].decode(errors="ignore") + suffix

    return next(name for name in map(made, range(len(taken) + 1)) if name not in taken)


def _enum_named(snapshot: SchemaSnapshot, column_type: str) -> Enum | None:
    """The enum a column's type (or its array's element type) names in `snapshot`."""
    return next((e for e in snapshot.enums
                 if _type_is(column_type, e.schema, e.name, snapshot.search_path)), None)


def _labels_refused(p: _Plan, source_type: str, new_type: str, target_enum: Enum | None) -> str:
    """What a column's values converted from an enum through text (`col::text::new`) may
    make fail: labels the new enum lacks, or text the new type's input does not read."""
    if target_enum is not None:
        source = _enum_named(p.source, source_type)
        missing = [x for x in (source.labels if source else ()) if x not in target_enum.labels]
        if not missing:
            return ""
        return (f" A value {new_type} has no label for ({', '.join(map(literal, missing))}) "
                "makes it fail; nothing is changed.")
    base = _domain_base(p.target, new_type)
    if source_type.endswith("[]") == base.endswith("[]") \
            and conversion("text", base.removesuffix("[]")) == PARSE:
        return f" A value that is not valid {new_type} text makes it fail; nothing is changed."
    return ""


def _domain_base(snapshot: SchemaSnapshot, column_type: str) -> str:
    """The type a column's values have under its domains (the type itself for any other
    type): casts from and to a domain are those of its base type."""
    for _ in range(len(snapshot.domains)):
        domain = _column_domain(snapshot, column_type)
        if domain is None:
            break
        column_type = domain.type
    return column_type


def _column_domain(snapshot: SchemaSnapshot, column_type: str) -> Domain | None:
    """The domain a column's type (as format_type spells it) names; None for any other
    type, an array of a domain included."""
    if column_type.endswith("[]"):
        return None  # an array of a domain: not checked when added
    return next((d for d in snapshot.domains
                 if _type_is(column_type, d.schema, d.name, snapshot.search_path)), None)


def _volatile(snapshot: SchemaSnapshot, default: str) -> bool:
    """A default PostgreSQL cannot compute once and keep in the catalog, so `ADD COLUMN`
    computes it for every row (a rewrite): one calling a volatile function, built in (lint's
    list: `gen_random_uuid()`, `nextval()`, ...) or one of `snapshot`'s declared VOLATILE
    (an overload of that name is). Any other expression is computed once, `now()`,
    `timezone('utc'::text, now())` or `ARRAY['NEW'::text]` (checked with
    `pg_relation_filenode`); one that does not parse counts as volatile."""
    from pglast import ast

    from dbsafe.pg.volatility import VOLATILE_FUNCTIONS, declared_volatility

    tree = parsed_definition(default, "expression")
    if tree is None:
        return True
    called = {str(call.funcname[-1].sval) for call in nodes(tree, ast.FuncCall)
              if call.funcname}
    return bool(called & VOLATILE_FUNCTIONS) or any(
        f.name in called and f.definition is not None
        and declared_volatility(f.definition) in ("volatile", None)
        for f in snapshot.functions)


_STRINGS = ("character varying(", "character(")
_BITS = ("bit(", "bit varying(")


def _length_checked(new_type: str, old_type: str) -> bool:
    """Whether `new_type` has a length an explicit cast would cut values to, and the old
    type converts to it by assignment (any type to a string type; a bit string to a bit
    string), which errors instead.

    >>> _length_checked("character varying(5)", "character varying(10)")
    True
    >>> _length_checked("bit(4)", "integer"), _length_checked("bigint", "integer")
    (False, False)
    """
    if new_type.startswith(_STRINGS):
        return True
    return new_type.startswith(_BITS) and old_type.startswith("bit")  # bit, bit varying


def _type_change_hazards(p: _Plan, relation: Relation, column: str, subject: str,
                         old_type: str, new_type: str | None) -> list[Hazard]:
    """What changing `column` from `old_type` to `new_type` does under its ACCESS EXCLUSIVE
    lock, as lint's DBS110 and DBS127 say it (`pg.types.rewrites`, verified with
    `pg_relation_filenode`): a rewrite of the table and its indexes, or none (`varchar(10)`
    to `text`, a wider `numeric`), when only each validated CHECK using the column is
    checked again (a scan) and each index whose expression or WHERE uses it built again.
    "May rewrite" where that depends on more than the two types: a domain, an enum, a
    collation, `timestamp` to `timestamptz` (the session's TimeZone); `new_type` None."""
    from dbsafe.pg.types import rewrites, type_from_text

    table = relation.qualified_name
    may = Hazard("table-rewrite", f"Changing `{subject}` to {new_type or 'its new collation'} "
                 f"may rewrite `{table}` and its indexes under an ACCESS EXCLUSIVE lock; reads "
                 "and writes wait.")
    if new_type is None or _domain_base(p.source, old_type) != old_type \
            or _domain_base(p.target, new_type) != new_type:
        return [may]
    old, new = type_from_text(old_type), type_from_text(new_type)
    rewritten = rewrites(old, new) if old is not None and new is not None else None
    if rewritten is None:
        return [may]
    if rewritten:
        return [Hazard("table-rewrite", f"Changing `{subject}` to {new_type} rewrites `{table}` "
                       "and its indexes under an ACCESS EXCLUSIVE lock; reads and writes wait.")]
    hazards = [Hazard("access-exclusive-lock", f"Changing `{subject}` to {new_type} takes an "
                      f"ACCESS EXCLUSIVE lock on `{table}`; the stored values stay as they are "
                      "(no rewrite).")]
    checks, indexes = redone_by_type_change(relation, column)
    hazards += [Hazard("long-scan", f"Checks constraint `{k.name}` again: a full scan of "
                       f"`{table}` while reads and writes wait.") for k in checks]
    hazards += [Hazard("long-scan", f"Builds index `{i.name}` again: a full scan of `{table}` "
                       "while reads and writes wait.") for i in indexes]
    return hazards


_JSON = ("json", "jsonb")
_JSON_TO_STRINGS = ("text", "character varying", "character")


def _json_conversion(col: str, old: str, new: str, new_type: str) -> str | None:
    """The `USING` of a type change no cast does between an array and JSON (Thunderdome's
    `point_values_allowed`, `text[]` to `jsonb` and back), as PostgreSQL's own JSON
    functions convert: an array (or any value) to JSON by `to_jsonb`, which keeps NULL
    elements and nested arrays; JSON to an array by `jsonb_populate_record`, its inverse,
    reading a JSON array into the `text[]` field `reloptions` of `pg_class`'s row type (a
    subquery over `jsonb_array_elements_text`, which would drop nested arrays, is refused
    in a USING, 0A000), then cast to the new array type by each element's text: explicitly
    where that is no string type, by assignment to one (a value too long for a
    `varchar(n)[]` is refused there, not cut). None for any other pair.

    >>> _json_conversion("a", "text[]", "jsonb", "jsonb")
    ' USING to_jsonb(a)'
    >>> _json_conversion("a", "jsonb", "integer[]", "integer[]")[:48]
    ' USING ((jsonb_populate_record(NULL::pg_catalog.'
    >>> _json_conversion("a", "json", "character varying[]", "character varying(5)[]")[-11:]
    '.reloptions'
    >>> _json_conversion("a", "jsonb", "integer", "integer") is None
    True
    """
    if new in _JSON and old not in _JSON:
        return f" USING to_{new}({col})"
    if old in _JSON and new.endswith("[]"):
        record = f"{old}_populate_record(NULL::pg_catalog.pg_class, " \
            f"{old}_build_object('reloptions', {col}))"
        if base_type(new).removesuffix("[]") in _JSON_TO_STRINGS:
            return f" USING ({record}).reloptions"
        return f" USING (({record}).reloptions)::{new_type}"
    return None


def _alter_column(p: _Plan, c: Change, relation: Relation, table: str) -> None:
    column = relation.column(c.identity[2])
    if column is None:
        return
    col = quote(column.name)
    subject = c.subject
    a = c.attribute
    if a in ("type", "collation"):
        if a == "collation" and any(x.identity == c.identity and x.attribute == "type"
                                    for x in p.changes):
            return
        collate = f" COLLATE {column.collation}" if column.collation else ""
        source_column = p.source.relation(c.identity[0], c.identity[1])
        old_default = source_column.column(column.name) if source_column else None
        source_type = old_default.type if old_default is not None else ""
        from_enum = any(_type_is(source_type, e.schema, e.name, p.source.search_path)
                        for e in p.source.enums)
        target_enum = _enum_named(p.target, column.type) if a == "type" else None
        if from_enum and a == "type":
            # `USING col::text::type`: PostgreSQL computes that for every row, whatever the
            # new type (pg_relation_filenode changes, to text as to another enum)
            hazards = [Hazard("table-rewrite", f"Changing `{subject}` to {column.type} "
                              f"rewrites `{relation.qualified_name}` and its indexes under an "
                              "ACCESS EXCLUSIVE lock (each value converted through text); "
                              "reads and writes wait." + _labels_refused(
                                  p, source_type, column.type, target_enum))]
        else:
            hazards = _type_change_hazards(p, relation, column.name, subject, source_type,
                                           column.type if a == "type" else None)
        path = UNKNOWN if from_enum or a != "type" else conversion(
            _domain_base(p.source, source_type), _domain_base(p.target, column.type))
        if target_enum is not None and not from_enum and path == UNKNOWN \
                and not any(x.source == source_type and x.target == column.type
                            for x in p.target.casts):
            # An enum reads strings by its input function (a value naming no label is
            # refused, 22P02); no cast leads to it from any other type (42846).
            base = _domain_base(p.source, source_type)
            path = PARSE if is_string_type(base.removesuffix("[]")) \
                and base.endswith("[]") == column.type.endswith("[]") else None
        keyed = _keyed_by(p, relation, column.name)
        if keyed is not None:
            # (Its collation neither: ALTER COLUMN ... TYPE ... COLLATE is refused alike.)
            what = "type" if a == "type" else "collation"
            p.emit("columns", f"-- ALTER TABLE {table} ALTER COLUMN {col} TYPE {column.type}"
                   f"{collate} is not generated: the column is in the partition key of "
                   f"{_dotted(keyed)}",
                   Hazard("not-generated", f"PostgreSQL cannot change the {what} of "
                          f"`{subject}`, part of the partition key of `{keyed}`: create the "
                          f"table again with the new {what} and move its rows, by hand."),
                   subject=subject)
            return
        json_using = None if path is not None else _json_conversion(
            col, _domain_base(p.source, source_type), _domain_base(p.target, column.type),
            column.type)
        if json_using is not None:
            path = EXPLICIT  # (its own hazard below, not the explicit cast's)
            if _domain_base(p.source, source_type) in _JSON:
                element = base_type(_domain_base(p.target, column.type)).removesuffix("[]")
                hazards = [Hazard(hazards[0].kind, hazards[0].message + " A value that is "
                                  "not a JSON array (an object, a scalar)" + (
                                      "" if element in _JSON_TO_STRINGS else
                                      f", or an element that is not valid {element} text,")
                                  + " makes it fail; nothing is changed."), *hazards[1:]]
        if path is None:
            # No cast leads there: `USING col::type` fails whatever the rows hold, and
            # only a person knows what the values mean (seconds since 1970? a date?).
            p.emit("columns", f"-- ALTER TABLE {table} ALTER COLUMN {col} TYPE {column.type}"
                   f"{collate} USING <expression of {col}> is not generated: no cast leads "
                   f"from {source_type} to {column.type}",
                   Hazard("not-generated", f"No cast converts `{subject}` from {source_type} "
                          f"to {column.type}: write the ALTER COLUMN ... TYPE with a USING "
                          "expression that says what its values mean, by hand."),
                   subject=subject)
            return
        if old_default is not None and old_default.default is not None and a == "type" \
                and c.identity not in p.dropped_defaults:
            p.dropped_defaults.add(c.identity)
            p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT",
                   subject=subject)
        if path == EXPLICIT and json_using is None:
            # A cast PostgreSQL applies only when asked may change a value it cannot
            # represent instead of refusing it (integer to bit(4) keeps the last 4 bits).
            hazards.append(Hazard("data-loss", f"Only an explicit cast converts `{subject}` "
                                  f"from {source_type} to {column.type}: a value it cannot "
                                  "represent may be changed rather than refused; check the "
                                  "USING expression."))
        if path == PARSE and hazards:
            # The text of each value read by the new type's input function: one it does not
            # read (`'3pt'` as integer) makes PostgreSQL refuse the statement (22P02).
            refused = f"a label of {column.type}" if target_enum is not None \
                else f"valid {column.type} text"
            hazards = [Hazard(hazards[0].kind, hazards[0].message + f" A value that is not "
                              f"{refused} makes it fail; nothing is changed."),
                       *hazards[1:]]
        if json_using is not None:
            using = json_using
        elif _length_checked(column.type, source_type):
            # No USING: PostgreSQL's assignment coercion then refuses a value that is too
            # long, where an explicit cast (`USING col::varchar(5)`) would silently cut it.
            using = ""
            if hazards[0].kind == "table-rewrite":  # (a wider length holds every value)
                hazards = [Hazard("table-rewrite", hazards[0].message + f" A value longer "
                                  f"than {column.type} allows makes it fail; nothing is cut.")]
        elif from_enum:
            # No cast leads from an enum to another type but through text
            via = "text" + "[]" * source_type.count("[]")
            using = f" USING {col}::{via}::{column.type}"
        else:
            using = f" USING {col}::{column.type}"
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} TYPE {column.type}{collate}"
               f"{using}", *hazards, subject=subject)
        # The default the column ends with, once its values have the new type: the old
        # one was dropped above, and a default that changes too waits for this (a column
        # without one before gets it here as well).
        if a == "type" and column.default is not None and not column.generated:
            p.emit(_default_phase(p, column.default), f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT "
                   f"{column.default}", subject=subject)
    elif a == "expression":
        if any(x.identity == c.identity and x.attribute == "generated" for x in p.changes):
            return  # the change of kind sets the expression too
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET EXPRESSION AS "
               f"({column.default})", *([Hazard(
                   "table-rewrite", f"Recomputes `{subject}` for every row, rewriting "
                   f"`{relation.qualified_name}` under an ACCESS EXCLUSIVE lock.")]
                   if column.generated == "stored" else []), subject=subject)
    elif a == "default":
        if column.generated or any(x.identity == c.identity and x.attribute in
                                   ("generated", "identity") for x in p.changes):
            return
        if c.identity in p.reset_defaults:
            return  # taken off before its function was dropped, set after it is back
        if any(x.identity == c.identity and x.attribute == "type" for x in p.changes) \
                and column.default is not None:
            return  # set again after the type change
        if c.identity in p.converted_columns:
            return  # set again after its rebuilt type's conversion
        if c.new is None:
            if c.identity in p.dropped_defaults:
                return  # dropped before its type change
            p.dropped_defaults.add(c.identity)
        p.emit(_default_phase(p, c.new), f"ALTER TABLE {table} ALTER COLUMN {col} " + (
            f"SET DEFAULT {c.new}" if c.new is not None else "DROP DEFAULT"), subject=subject)
    elif a == "nullable":
        if c.new:
            p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP NOT NULL",
                   subject=subject)
        elif column.not_null_not_valid:
            _add_not_null_constraint(p, relation, table, column)
        elif not any(x.identity == c.identity and x.attribute == "identity" and not x.old
                     for x in p.changes):
            _set_not_null(p, relation, table, column)  # else before ADD GENERATED
            _shape_not_null(p, relation, table, column,
                            f"{relation.name}_{column.name}_not_null")
    elif a in _NOT_NULL_ATTRIBUTES:
        _alter_not_null(p, c, relation, table, column)
    elif a == "identity":
        if c.old and c.new:
            p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET GENERATED "
                   f"{c.new.upper()}", subject=subject)
        elif c.new:
            # ADD GENERATED refuses a column with a default or one that may be null: the
            # default goes first (a serial column's with its sequence, as the identity's
            # sequence takes its name), and NOT NULL is set before.
            source_relation = p.source.relation(relation.schema, relation.name)
            old = source_relation.column(column.name) if source_relation else None
            serial = _owned_sequence(p.source, relation, old) if old is not None else None
            new = _target_sequence(p, relation, column)
            # A serial's counter is carried over (ids of rows deleted since are not given
            # again): its sequence is renamed out of the identity's way, read after it is
            # made, then dropped; unless the target numbers from a START of its own.
            kept = None
            if old is not None and old.default is not None:
                p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT",
                       subject=subject)
            if serial is not None and new is not None and _counter_carried(new):
                kept = _kept_counter(p, serial, new)
            elif serial is not None:
                p.emit("columns", f"DROP SEQUENCE {qualify(serial.schema, serial.name)}",
                       *_counter_restarted(serial, new, subject), subject=subject)
            if old is not None and old.nullable:
                _set_not_null(p, relation, table, column)
            p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} ADD GENERATED "
                   f"{c.new.upper()} AS IDENTITY{_identity_options(p, relation, column)}",
                   subject=subject)
            if new is not None and kept is not None:
                _carry_counter(p, relation, column, new, kept)
                p.emit("columns", f"DROP SEQUENCE {kept}", subject=subject)
            else:
                # The rows keep their values: numbering goes on after the highest.
                _continue_numbering(p, relation, column)
            if serial is not None and new is not None:
                # Made again: the old one's grants and comment went with it.
                _comment_acl_owner(p, "SEQUENCE", qualify(new.schema, new.name), new, "s",
                                   created=False)
        else:
            # An identity becoming a serial column: DROP IDENTITY takes the sequence the
            # target's default reads under the same name; it is created again. Its counter
            # is carried over (unless the target numbers from a START of its own): the
            # identity's sequence is renamed out of the way and read by the new one before
            # DROP IDENTITY takes it.
            serial = _owned_sequence(p.target, relation, column)
            identity = _source_sequence(p, serial.schema, serial.name) \
                if serial is not None else None
            if serial is not None and identity is not None:
                sequence = qualify(serial.schema, serial.name)
                renamed = _kept_counter(p, identity, serial) \
                    if _counter_carried(serial) else None
                if renamed is None:
                    p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP IDENTITY",
                           *_counter_restarted(identity, serial, subject), subject=subject)
                p.emit("columns", f"CREATE SEQUENCE {sequence}{_sequence_options(serial)}",
                       subject=subject)
                if renamed is not None:
                    _carry_counter(p, relation, column, serial, renamed)
                    p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP IDENTITY",
                           subject=subject)
                p.emit("columns", f"ALTER SEQUENCE {sequence} OWNED BY {table}.{col}",
                       subject=subject)
                p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT "
                       f"{column.default}", subject=subject)
                if renamed is None:
                    _continue_numbering(p, relation, column)
                # Made again: DROP IDENTITY took the old one's grants and comment.
                _comment_acl_owner(p, "SEQUENCE", sequence, serial, "s", created=False)
            else:
                p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP IDENTITY",
                       subject=subject)
                if column.default is not None and not column.generated:
                    # The default change waits for the identity's; here it is.
                    p.emit(_default_phase(p, column.default), f"ALTER TABLE {table} ALTER "
                           f"COLUMN {col} SET DEFAULT {column.default}", subject=subject)
    elif a == "generated":
        source_relation = p.source.relation(c.identity[0], c.identity[1])
        old = source_relation.column(column.name) if source_relation else None
        if old is not None and old.generated and column.generated \
                and old.generated != column.generated:
            # STORED <-> VIRTUAL (PostgreSQL 18) has no ALTER: the column is dropped and
            # added again, and its values, all computed, come back.
            _mark_users_of_dropped_column(p, c.identity[0], c.identity[1], column.name)
            p.emit("columns", f"ALTER TABLE {table} DROP COLUMN {col}",
                   Hazard("access-exclusive-lock", f"`{subject}` changes between STORED and "
                          "VIRTUAL, which no ALTER does: it is dropped and added again, its "
                          "values computed again; queries using it fail in between."),
                   subject=subject)
            p.emit("columns", f"ALTER TABLE {table} ADD COLUMN {_column_definition(column)}",
                   *([Hazard("table-rewrite", f"`{subject}` becomes STORED: it is dropped and "
                             "added again, and computed for every row under an ACCESS "
                             "EXCLUSIVE lock.")] if column.generated == "stored" else []),
                   subject=subject)
            _column_extras(p, relation, column)
        elif old is not None and old.generated and column.generated:
            p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET EXPRESSION AS "
                   f"({column.default})",
                   Hazard("table-rewrite", f"Recomputes `{subject}` for every row under an "
                          "ACCESS EXCLUSIVE lock (PostgreSQL 17 or later)."), subject=subject)
        elif old is not None and old.generated:
            p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} DROP EXPRESSION",
                   subject=subject)
            if column.default is not None:
                p.emit(_default_phase(p, column.default), f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT "
                       f"{column.default}", subject=subject)
        else:
            _mark_users_of_dropped_column(p, c.identity[0], c.identity[1], column.name)
            p.emit("columns", f"ALTER TABLE {table} DROP COLUMN {col}",
                   Hazard("data-loss", f"`{subject}` becomes a generated column: its stored "
                          "values are replaced by computed ones."), subject=subject)
            p.emit("columns", f"ALTER TABLE {table} ADD COLUMN {_column_definition(column)}",
                   Hazard("table-rewrite", f"Computes `{subject}` for every row."),
                   subject=subject)
            _column_extras(p, relation, column)
    elif a in _EXTRAS and _readded_by_kind(p, c.identity):
        return  # the column is dropped and added again, and given its target's (_column_extras)
    elif a == "storage":
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET STORAGE "
               f"{(c.new or _default_storage(c.old)).upper()}", subject=subject)
    elif a == "compression":
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET COMPRESSION "
               f"{c.new or 'DEFAULT'}", subject=subject)
    elif a == "statistics":
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET STATISTICS "
               f"{c.new if c.new is not None else -1}", subject=subject)
    elif a == "comment":
        p.emit("comments", f"COMMENT ON COLUMN {table}.{col} IS {_text(c.new)}",
               subject=subject)
    elif a == "acl":
        # From what the table's REVOKEs (in the same phase, before) left of the column's.
        before = _without_revoked(_parse_acl(c.old or ()),
                                  p.table_revokes.get((c.identity[0], c.identity[1]), {}))
        _grant_statements(p, f"TABLE {table}", before, _parse_acl(c.new or ()), subject,
                          column=col)


# What `_column_extras` gives a column added.
_EXTRAS = ("storage", "compression", "statistics", "comment", "acl")


def _readded_by_kind(p: _Plan, identity: tuple[str, ...]) -> bool:
    """Whether the column `identity` is dropped and added again for a change of its kind
    (between STORED and VIRTUAL, a plain column becoming generated: `_alter_column`)."""
    source, target = p.source.relation(*identity[:2]), p.target.relation(*identity[:2])
    old = source.column(identity[2]) if source else None
    new = target.column(identity[2]) if target else None
    return old is not None and new is not None and bool(new.generated) and any(
        c.attribute == "generated" for c in p.changes_of(identity)) and (
        not old.generated or old.generated != new.generated)


# A column's NOT NULL constraint (PostgreSQL 18), when the column is NOT NULL on both sides.
_NOT_NULL_ATTRIBUTES = ("not_null_chosen_name", "not_null_no_inherit", "not_null_not_valid")


def _alter_not_null(p: _Plan, c: Change, relation: Relation, table: str,
                    column: Column) -> None:
    """One statement set for all that differs in the column's NOT NULL constraint, written
    for the first of its changes; a column that gains or loses NOT NULL is `nullable`'s."""
    source_relation = p.source.relation(relation.schema, relation.name)
    old = source_relation.column(column.name) if source_relation else None
    if old is None or old.nullable or column.nullable:
        return
    first = next(x for x in p.changes if x.identity == c.identity
                 and x.attribute in _NOT_NULL_ATTRIBUTES)
    if first is not c:
        return
    name = _not_null_name(source_relation or relation, old)
    if column.not_null_not_valid and not old.not_null_not_valid:
        # A validated constraint cannot become NOT VALID: dropped and added again, which
        # checks no row.
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {quote(column.name)} DROP NOT "
               "NULL", subject=c.subject)
        _add_not_null_constraint(p, relation, table, column)
        return
    if old.not_null_not_valid and not column.not_null_not_valid:
        p.emit("columns", f"ALTER TABLE {table} VALIDATE CONSTRAINT {quote(name)}",
               _validation_scan(f"`{relation.qualified_name}` for NULL in `{column.name}`",
                                "not_null"), subject=c.subject)
    if old.not_null_no_inherit != column.not_null_no_inherit:
        # NO INHERIT leaves the children their own copy: before a child drops it
        # (PostgreSQL refuses to drop an inherited one).
        p.emit("drop_constraints" if column.not_null_no_inherit else "columns",
               f"ALTER TABLE {table} ALTER CONSTRAINT {quote(name)} "
               + ("NO INHERIT" if column.not_null_no_inherit else "INHERIT"), subject=c.subject)
    target_name = _not_null_name(relation, column)
    if old.not_null_chosen_name != column.not_null_chosen_name and name != target_name:
        p.emit("columns", f"ALTER TABLE {table} RENAME CONSTRAINT {quote(name)} TO "
               f"{quote(target_name)}", subject=c.subject)


def _shape_not_null(p: _Plan, relation: Relation, table: str, column: Column,
                    made: str) -> None:
    """After `SET NOT NULL` made the plain constraint `made`: the target's NO INHERIT and
    chosen name (PostgreSQL 18)."""
    subject = f"{relation.qualified_name}.{column.name}"
    if column.not_null_no_inherit:
        p.emit("columns", f"ALTER TABLE {table} ALTER CONSTRAINT {quote(made)} NO INHERIT",
               subject=subject)
    if column.not_null_chosen_name is not None and column.not_null_chosen_name != made:
        p.emit("columns", f"ALTER TABLE {table} RENAME CONSTRAINT {quote(made)} TO "
               f"{quote(column.not_null_chosen_name)}", subject=subject)


def _default_storage(old: str | None) -> str:
    # Back to the type's default: for the types whose storage is usually changed (text,
    # bytea, jsonb), that is EXTENDED.
    return "extended"


def _set_not_null(p: _Plan, relation: Relation, table: str, column: Column) -> None:
    col = quote(column.name)
    subject = f"{relation.qualified_name}.{column.name}"
    if relation.kind == "partitioned_table":
        p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET NOT NULL",
               Hazard("long-scan", f"Scans every partition of `{relation.qualified_name}` "
                      "under an ACCESS EXCLUSIVE lock (partitioned tables cannot take a NOT "
                      "VALID check first)."), subject=subject)
        return
    check = quote(_short_name(f"{relation.name}_{column.name}_not_null_dbsafe"))
    p.emit("columns", f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({col} IS NOT NULL) "
           "NOT VALID", subject=subject)
    p.emit("columns", f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}",
           _validation_scan(f"`{relation.qualified_name}` for NULL in `{column.name}`",
                            "check"), subject=subject)
    p.emit("columns", f"ALTER TABLE {table} ALTER COLUMN {col} SET NOT NULL", subject=subject)
    p.emit("columns", f"ALTER TABLE {table} DROP CONSTRAINT {check}", subject=subject)


def _short_name(name: str) -> str:
    if len(name.encode()) <= 63:
        return name
    import hashlib

    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "_" + digest


def _owned_sequence(snapshot: SchemaSnapshot, relation: Relation,
                    column: Column) -> SequenceObject | None:
    """The sequence a serial column's default reads and the column owns, in `snapshot`."""
    if column.identity or not column.default or "nextval" not in column.default:
        return None
    owner = f"{relation.schema}.{relation.name}.{column.name}"
    for dotted in sequences_called(column.default, snapshot):
        sequence = _find(snapshot.sequences, *_split(dotted))
        if sequence is not None and sequence.owned_by == owner:
            return sequence
    return None


def _continue_numbering(p: _Plan, relation: Relation, column: Column, *,
                        phase: str = "columns") -> None:
    """The new sequence of a column that keeps its rows goes on after the highest value,
    so the next insert does not collide with one (an empty table keeps its START, and so
    does a table whose values all lie below it: the target numbers from its START, and
    setval refuses a value below MINVALUE; a descending sequence is left as it is)."""
    table = qualify(relation.schema, relation.name)
    col = quote(column.name)
    owner = f"{relation.qualified_name}.{column.name}"
    sequence = next((s for s in p.target.sequences if s.owned_by == owner), None)
    if sequence is not None and sequence.increment is not None and sequence.increment < 0:
        return
    first = None if sequence is None else \
        sequence.start if sequence.start is not None else sequence.min_value
    floor = f" >= {first}" if first is not None else " IS NOT NULL"
    p.emit(phase, f"SELECT setval(pg_get_serial_sequence({literal(table)}, "
           f"{literal(column.name)}), max({col})) FROM {table} HAVING max({col}){floor}",
           subject=owner)


def _target_sequence(p: _Plan, relation: Relation, column: Column) -> SequenceObject | None:
    """The target's sequence behind `column` (its identity's, or the serial's it owns)."""
    owner = f"{relation.qualified_name}.{column.name}"
    return next((s for s in p.target.sequences if s.owned_by == owner), None)


def _counter_carried(new: SequenceObject) -> bool:
    """Whether a column changing between serial and identity gives its new sequence
    `new` the old one's counter: yes, unless the target numbers from a START of its own,
    or counts down (left as it is)."""
    return not (new.increment is not None and new.increment < 0) and not _own_start(new)


def _own_start(sequence: SequenceObject) -> bool:
    """Whether an ascending `sequence` has a START WITH other than its MINVALUE (the
    default): one its definition says."""
    if sequence.start is None or (sequence.increment is not None and sequence.increment < 0):
        return False
    return sequence.start != (sequence.min_value if sequence.min_value is not None else 1)


def _kept_counter(p: _Plan, old: SequenceObject, new: SequenceObject) -> str:
    """The old sequence of a column changing between serial and identity, kept until the
    new one has read its counter (`_carry_counter`): renamed out of the way where the new
    one takes its name. Its qualified name."""
    if (old.schema, old.name) != (new.schema, new.name):
        return qualify(old.schema, old.name)
    kept = f"{old.name}__dbsafe_old"[:63]
    p.emit("columns", f"ALTER SEQUENCE {qualify(old.schema, old.name)} RENAME TO "
           f"{quote(kept)}", subject=f"{old.schema}.{old.name}")
    return qualify(old.schema, kept)


def _carry_counter(p: _Plan, relation: Relation, column: Column, new: SequenceObject,
                   old: str) -> None:
    """The new sequence `new` of a column changing between serial and identity goes on
    where the old one (`old`, still there) was, or after the highest value where that is
    further: ids the old one gave, of rows deleted since, are not given again. Its
    `is_called` says whether its `last_value` was given (not after a `setval(..., false)`
    or before any `nextval`); a value below the new MINVALUE is left to the new START."""
    table = qualify(relation.schema, relation.name)
    first = new.start if new.start is not None else new.min_value
    p.emit("columns", f"SELECT setval({literal(qualify(new.schema, new.name))}, "
           "greatest(highest, last_value), is_called OR (highest >= last_value) IS TRUE) "
           f"FROM {old}, (SELECT max({quote(column.name)}) AS highest FROM {table}) AS dbsafe_rows"
           + (f" WHERE greatest(highest, last_value) >= {first}" if first is not None else ""),
           subject=f"{relation.qualified_name}.{column.name}")


def _counter_restarted(old: SequenceObject, new: SequenceObject | None,
                       subject: str) -> tuple[Hazard, ...]:
    """The hazard of a column changing between serial and identity whose new sequence
    numbers from the target's own START, not from the old counter: ids given above it may
    be given again."""
    if new is None or not _own_start(new):
        return ()
    qname = qualify(old.schema, old.name)
    return (Hazard("data-loss", f"Drops `{old.schema}.{old.name}`, the sequence of "
                   f"`{subject}`, and its counter: the new one numbers from the target's "
                   f"START WITH {new.start} (after the highest value where that is higher), "
                   "so ids the old one gave above that, of rows deleted since, are given "
                   "again (caches, URLs, other systems that kept them). `SELECT last_value "
                   f"FROM {qname}` tells beforehand; to go on after it, drop START WITH "
                   "from the target or setval after the script."),)


def _target_column(p: _Plan, schema: str, table: str, name: str) -> Column | None:
    relation = p.target.relation(schema, table)
    return relation.column(name) if relation else None


# -- constraints and indexes ----------------------------------------------------------------


def _strip_not_valid(definition: str) -> str:
    return definition.removesuffix(" NOT VALID")


def _constraints(p: _Plan, changes: list[Change]) -> None:
    # Foreign keys that point at a unique/primary key being replaced must let go of it first.
    replaced_keys = {(c.identity[0], c.identity[1]) for c in changes
                     if c.action in (DROP, ALTER) and (c.old if c.action == DROP else
                                                       _constraint(p.source, c.identity))
                     is not None and _constraint_kind(p, c) in ("primary_key", "unique")}
    # ... and so must those that hold a plain unique index being dropped or built again
    # (PostgreSQL refuses to drop it while they use it).
    replaced_indexes = _replaced_unique_indexes(p)
    for relation in p.source.relations:
        key = (relation.schema, relation.name)
        for constraint in relation.constraints:
            if constraint.kind != "foreign_key" or not constraint.referenced_table:
                continue
            referenced = _split(constraint.referenced_table)
            holds = referenced in replaced_keys or (
                *referenced, frozenset(constraint.referenced_columns)) in replaced_indexes
            if key not in p.dropped_relations and (holds or referenced in p.replaced_relations):
                if relation.partition_of and _inherited_constraint(p, relation, constraint,
                                                                   p.source):
                    continue  # a partition's copy goes and comes back with its parent's
                p.recreate_fks.add((*key, constraint.name))
            elif key in p.dropped_relations and holds \
                    and referenced not in p.dropped_relations and not relation.partition_of:
                # The table goes last, its foreign key must go before the key it holds (a
                # partition's copy goes with its parent's).
                _drop_constraint(p, qualify(*key), constraint, f"{relation.qualified_name}."
                                 f"{constraint.name}")
    _parent_index_cascades(p, changes)  # (once the foreign keys made again are known)
    handled: set[tuple[str, ...]] = set()
    for c in changes:
        table_key = (c.identity[0], c.identity[1])
        if table_key in p.created_relations:
            continue
        if c.action == ALTER and c.attribute == "comment" and not _propagated(p, c):
            # Its own change, whatever else changes; one added again gets its comment there.
            if c.identity not in p.recreate_fks and not any(
                    x.attribute == "definition" for x in p.changes_of(c.identity)):
                p.emit("comments", f"COMMENT ON CONSTRAINT {quote(c.identity[2])} ON "
                       f"{qualify(*table_key)} IS {_text(c.new)}", subject=c.subject)
            continue
        if c.identity in handled or _propagated(p, c):
            continue
        handled.add(c.identity)
        table = qualify(*table_key)
        target_relation = p.target.relation(*table_key)
        early = c.identity in p.rebuilt_checks  # dropped before the function it calls
        if c.action == DROP:
            if table_key in p.dropped_relations and target_relation is None:
                continue
            if any(c.subject in held for held, _ in p.cascades.values()):
                continue  # the parent's DROP INDEX ... CASCADE takes it (or its hazard says)
            if _key_held_by_parent(p, table_key, c.old):
                p.emit("constraints", f"-- ALTER TABLE {table} DROP CONSTRAINT "
                       f"{quote(c.old.name)} is not generated: it is the partition's copy of "
                       "its parent's key, which stays",
                       Hazard("not-generated", f"PostgreSQL refuses to drop `{c.subject}`, "
                              "attached to its parent's key, which the target keeps (42P16): "
                              "detach the partition, drop it, make the parent's key again "
                              "and attach the partition, by hand."), subject=c.subject)
                continue
            if not early:
                # A copy of a constraint of a parent the table leaves can only be dropped
                # once it has left (it then is the table's own), IF EXISTS: the parent's
                # own drop before the detach (a foreign key between tables dropped or
                # replaced) took it already.
                left = _copy_of_left_parent(p, table_key, c.old)
                _drop_constraint(p, table, c.old, c.subject,
                                 phase="drop_left_constraints" if left else "", if_exists=left)
            _keep_plain_index(p, target_relation, c.old)
            _keep_partition_keys(p, table_key, c.old)
        elif c.action == ADD:
            if target_relation is not None and target_relation.partition_of \
                    and c.new.kind == "foreign_key" \
                    and _inherited_constraint(p, target_relation, c.new):
                continue  # a copy of its parent's: the parent's ADD or the ATTACH makes it
            if target_relation is not None:
                _add_constraint(p, target_relation, c.new)
        elif c.attribute == "validated" and early:
            continue  # added again as the target has it (`_restore_function_users`)
        elif c.attribute == "validated" and c.new and not any(
                x.identity == c.identity and x.attribute == "definition" for x in changes):
            validated = _constraint(p.target, c.identity)
            p.emit("constraints", f"ALTER TABLE {table} VALIDATE CONSTRAINT "
                   f"{quote(c.identity[2])}",
                   _validation_scan(f"`{table_key[0]}.{table_key[1]}`",
                                    validated.kind if validated else ""),
                   subject=c.subject)
        else:
            old = _constraint(p.source, c.identity)
            new = _constraint(p.target, c.identity)
            if old is None or new is None or target_relation is None:
                continue
            if not early:
                # (a copy of a parent's the partition leaves, as for a DROP above)
                left = _copy_of_left_parent(p, table_key, old)
                _drop_constraint(p, table, old, c.subject,
                                 phase="drop_left_constraints" if left else "", if_exists=left)
            source_relation = p.source.relation(*table_key)
            if new.kind == "foreign_key" and target_relation.partition_of and \
                    source_relation is not None and \
                    source_relation.partition_of != target_relation.partition_of and \
                    _inherited_constraint(p, target_relation, new):
                continue  # a copy of its new parent's: the ATTACH makes it
            _add_constraint(p, target_relation, new)
            _comment_constraint_again(p, target_relation, new)
    for schema, name, constraint_name in sorted(p.recreate_fks):
        identity = (schema, name, constraint_name)
        if identity in handled:
            continue
        old = _constraint(p.source, identity)
        new = _constraint(p.target, identity)
        referencing = p.target.relation(schema, name)
        if old is not None:
            _drop_constraint(p, qualify(schema, name), old, ".".join(identity))
        if new is not None and referencing is not None:
            _add_constraint(p, referencing, new)
            _comment_constraint_again(p, referencing, new)


def _comment_constraint_again(p: _Plan, relation: Relation, constraint: Constraint) -> None:
    """A constraint dropped and added again loses its comment (`DROP CONSTRAINT` takes
    it): the target's is set again."""
    if constraint.comment is not None:
        p.emit("comments", f"COMMENT ON CONSTRAINT {quote(constraint.name)} ON "
               f"{qualify(relation.schema, relation.name)} IS {_text(constraint.comment)}",
               subject=f"{relation.qualified_name}.{constraint.name}")


def _parent_index_cascades(p: _Plan, changes: list[Change]) -> None:
    """Fill `p.cascades`: each new primary key or unique constraint of a kept partitioned
    table that takes the name of a plain index of its source which partitions' keys are
    attached to (pg-schema-diff's '... with existing matching base-table index (matching
    non-local index exists that backs local matching PK)'). PostgreSQL refuses to drop
    that index while the keys stand, and the keys while it stands (2BP01 each), and has no
    DETACH for an index: `DROP INDEX ... CASCADE` takes them together. Used only where it
    takes nothing more: no foreign key points at the table or at those partitions (it
    would go too) but those dropped before and added again (`p.recreate_fks`), and a key
    the target keeps is the copy the parent's new key makes."""
    for c in changes:
        if c.kind != "constraint" or c.action != ADD \
                or c.new.kind not in ("primary_key", "unique"):
            continue
        source = p.source.relation(c.identity[0], c.identity[1])
        target = p.target.relation(c.identity[0], c.identity[1])
        if source is None or target is None or source.kind != "partitioned_table" \
                or not _source_plain_index(p, target, c.identity[2]):
            continue
        held = _keys_on_parent_index(p, source, c.identity[2], kept=False)
        if held:
            p.cascades[(c.identity[0], c.identity[1], c.identity[2])] = (
                held, _cascade_takes_only(p, source, c.new, held))
    for c in p.changes:
        # A kept partitioned table's plain index dropped with the partitions' keys attached
        # to it, which the target drops too (pg-schema-diff's 'Add a partitioned index that
        # is used by a local primary key', backwards): CASCADE takes them together.
        source = p.source.relation(c.identity[0], c.identity[1]) \
            if c.kind == "index" and c.action == DROP else None
        if source is None or source.kind != "partitioned_table" \
                or p.target.relation(c.identity[0], c.identity[1]) is None \
                or _keys_on_parent_index(p, source, c.identity[2]):
            continue  # (keys the target keeps: not generated, `_indexes`)
        held = _keys_on_parent_index(p, source, c.identity[2], kept=False)
        if held:
            p.cascades[(c.identity[0], c.identity[1], c.identity[2])] = (
                held, _cascade_takes_only(p, source, None, held))


def _under(snapshot: SchemaSnapshot, relation: Relation, parent: str) -> bool:
    """Whether `relation` is a partition of `parent` ("schema.name"), or of one of its
    partitions, at any depth."""
    seen = {relation.qualified_name}
    while relation.partition_of and relation.partition_of not in seen:
        if relation.partition_of == parent:
            return True
        seen.add(relation.partition_of)
        above = next((r for r in snapshot.relations
                      if r.qualified_name == relation.partition_of), None)
        if above is None:
            return False
        relation = above
    return False


def _cascade_takes_only(p: _Plan, parent: Relation, key: Constraint | None,
                        held: list[str]) -> bool:
    """Whether dropping `parent`'s index with CASCADE takes only the partitions' keys
    `held` ("schema.table.name"), each either gone from the target or made again as
    the copy of `key`, the parent's new key (None: the index goes, no key comes)."""
    partitions = [r for r in p.source.relations if _under(p.source, r, parent.qualified_name)
                  and any(h.startswith(f"{r.qualified_name}.") for h in held)]
    pointed_at = {parent.qualified_name, *(r.qualified_name for r in partitions)}
    if any(k.kind == "foreign_key" and k.referenced_table in pointed_at
           and (r.schema, r.name, k.name) not in p.recreate_fks
           for r in p.source.relations for k in r.constraints):
        return False
    for partition in partitions:
        target = p.target.relation(partition.schema, partition.name)
        for constraint in partition.constraints:
            if f"{partition.qualified_name}.{constraint.name}" not in held:
                continue
            kept = next((k for k in target.constraints if k.name == constraint.name), None) \
                if target is not None else None
            if kept is not None and (key is None or kept.kind != key.kind
                                     or kept.definition != key.definition):
                return False
    return True


def _key_held_by_parent(p: _Plan, table_key: tuple[str, ...], key: Constraint) -> bool:
    """Whether `key`, a primary key or unique constraint of a partition that stays under
    the same parent, is its copy of a key of that parent which the target keeps: no
    statement drops it then, while the parent's stands (the target, made `ON ONLY` and
    attached by hand, has the parent's index invalid and the partition without it)."""
    if key.kind not in ("primary_key", "unique"):
        return False
    source, target = p.source.relation(*table_key), p.target.relation(*table_key)
    return (source is not None and target is not None and bool(source.partition_of)
            and source.partition_of == target.partition_of
            and _inherited_constraint(p, source, key, p.source)
            and _inherited_constraint(p, target, key))


def _replaced_unique_indexes(p: _Plan) -> set[tuple[str, str, frozenset[str]]]:
    """(schema, table, key columns) of the plain unique indexes of the source that the plan
    drops or builds again: a foreign key on those columns of the table may hold one."""
    found = set()
    for c in p.changes:
        if c.kind != "index" or c.action not in (DROP, ALTER) or c.attribute == "comment":
            continue
        relation = p.source.relation(c.identity[0], c.identity[1])
        index = next((i for i in relation.indexes if i.name == c.identity[2]), None) \
            if relation is not None else None
        if index is not None and index.unique and index.predicate is None \
                and not _constraint_index(relation, index.name):
            found.add((c.identity[0], c.identity[1], frozenset(index.columns)))
    return found


def _copy_of_left_parent(p: _Plan, key: tuple[str, str], constraint: Constraint) -> bool:
    source, target = p.source.relation(*key), p.target.relation(*key)
    if source is None or target is None:
        return False
    for dotted in {source.partition_of, *source.inherits} - {target.partition_of,
                                                              *target.inherits}:
        parent = p.source.relation(*_split(dotted)) if dotted else None
        if parent is not None and any(
                k.name == constraint.name and k.definition == constraint.definition
                for k in parent.constraints):
            return True
    return False


# What makes `VALIDATE CONSTRAINT` fail, by the constraint's kind, with its SQLSTATE.
_VALIDATION_FAILS = {
    "check": "A row that breaks the check makes it fail (23514)",
    "foreign_key": "A row whose key matches no referenced row makes it fail (23503)",
    "not_null": "A NULL makes it fail (23502)",
}


def _validation_scan(scanned: str, kind: str) -> Hazard:
    """The `long-scan` of `VALIDATE CONSTRAINT` over `scanned`, with what makes it fail:
    the constraint was added NOT VALID a statement before, so new rows are checked, but
    rows already there may break it, and the script stops at the first such statement."""
    ending = _VALIDATION_FAILS.get(kind)
    return Hazard("long-scan", f"Scans {scanned}; writes continue."
                  + (f" {ending}; the constraint stays NOT VALID." if ending else ""))


def _domain_validation_scan() -> Hazard:
    """`ALTER DOMAIN ... VALIDATE CONSTRAINT`: the tables using the domain are read under a
    SHARE lock, and a value already there may break the check."""
    return Hazard("long-scan", "Checks every value of the domain, its tables' writes "
                  "waiting (SHARE lock). A value that breaks the check makes it fail "
                  "(23514); the constraint stays NOT VALID.")


def _validate_partitions_copies(p: _Plan, relation: Relation, constraint: Constraint,
                                phase: str) -> None:
    """Validate the partitions' copies of a NOT VALID check that the target has validated:
    its partitions created after it (`CREATE TABLE ... PARTITION OF` checks their empty
    rows) have it validated, where the parent's `ADD ... NOT VALID` gives every existing
    one a copy NOT VALID (pg-schema-diff's 'Alter table: New primary key, ...')."""
    for partition in _target_partitions(p, relation):
        copy = next((k for k in partition.constraints if k.name == constraint.name
                     and k.kind == "check"), None)
        if copy is not None and copy.validated:
            p.emit(phase, f"ALTER TABLE {qualify(partition.schema, partition.name)} "
                   f"VALIDATE CONSTRAINT {quote(constraint.name)}",
                   _validation_scan(f"`{partition.qualified_name}`", "check"),
                   subject=f"{partition.qualified_name}.{copy.name}")
        elif copy is not None:
            _validate_partitions_copies(p, partition, copy, phase)


def _add_partitioned_foreign_key(p: _Plan, relation: Relation, constraint: Constraint,
                                 phase: str) -> None:
    """A foreign key of a partitioned table on a server before PostgreSQL 18, which refuses
    to add one NOT VALID (0A000, "not yet supported"): added valid in one statement, which
    checks every partition's rows while it holds SHARE ROW EXCLUSIVE on the table and on
    the referenced one. A table this plan creates (not one it replaces, whose partitions
    stay) has no rows to check."""
    table = qualify(relation.schema, relation.name)
    subject = f"{relation.qualified_name}.{constraint.name}"
    hazards = []
    key = (relation.schema, relation.name)
    if key not in p.created_relations or key in p.replaced_relations:
        hazards.append(Hazard("share-lock", f"Scans every partition of "
                              f"`{relation.qualified_name}` while writes to it and to "
                              f"`{constraint.referenced_table}` wait: PostgreSQL before 18 "
                              "cannot add a partitioned table's foreign key NOT VALID and "
                              "validate it afterwards. " + _VALIDATION_FAILS["foreign_key"]
                              + " and nothing is added."))
    if not constraint.validated:
        hazards.append(Hazard("may-fail", f"`{subject}` is NOT VALID in the target, which "
                              "PostgreSQL before 18 cannot make on a partitioned table: it "
                              "is added validated."))
    p.emit(phase, f"ALTER TABLE {table} ADD CONSTRAINT {quote(constraint.name)} "
           f"{_strip_not_valid(constraint.definition)}", *hazards, subject=subject)


def _constraint_kind(p: _Plan, c: Change) -> str | None:
    constraint = c.old if c.action == DROP else _constraint(p.source, c.identity)
    return constraint.kind if constraint is not None else None


def _constraint(snapshot: SchemaSnapshot, identity: tuple[str, ...]) -> Constraint | None:
    relation = snapshot.relation(identity[0], identity[1])
    if relation is None:
        return None
    return next((k for k in relation.constraints if k.name == identity[2]), None)


def _drop_constraint(p: _Plan, table: str, constraint: Constraint, subject: str,
                     phase: str = "", *, if_exists: bool = False) -> None:
    phase = phase or ("drop_fks" if constraint.kind == "foreign_key" else "drop_constraints")
    p.emit(phase, f"ALTER TABLE {table} DROP CONSTRAINT {'IF EXISTS ' if if_exists else ''}"
           f"{quote(constraint.name)}", subject=subject)


def _add_constraint(p: _Plan, relation: Relation, constraint: Constraint) -> None:
    if constraint.kind in ("primary_key", "unique", "exclusion"):
        index = next((i for i in relation.indexes if i.name == constraint.name), None)
        if index is not None:
            _index_marks(p, relation, index)  # its index is built with it
    table = qualify(relation.schema, relation.name)
    name = quote(constraint.name)
    subject = f"{relation.qualified_name}.{constraint.name}"
    definition = _strip_not_valid(constraint.definition)
    if constraint.kind in ("check", "foreign_key"):
        phase = "fks" if constraint.kind == "foreign_key" else "constraints"
        if constraint.referenced_table and \
                _split(constraint.referenced_table) in p.replaced_relations:
            phase = "fks_to_replaced"  # after the partitions it keeps are attached again
        if constraint.kind == "foreign_key" and relation.kind == "partitioned_table" \
                and not _source_from(p, 180000):
            _add_partitioned_foreign_key(p, relation, constraint, phase)
            return
        p.emit(phase, f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition} NOT VALID",
               subject=subject)
        if constraint.validated:
            p.emit(phase, f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}",
                   _validation_scan(f"`{relation.qualified_name}`", constraint.kind),
                   subject=subject)
        elif constraint.kind == "check":
            _validate_partitions_copies(p, relation, constraint, phase)
        return
    if constraint.kind in ("primary_key", "unique") and relation.kind == "table":
        index = next((i for i in relation.indexes if i.name == constraint.name), None)
        if index is not None:
            if constraint.kind == "primary_key":
                for column_name in constraint.columns:
                    column = relation.column(column_name)
                    source_relation = p.source.relation(relation.schema, relation.name)
                    old = source_relation.column(column_name) if source_relation else None
                    if column is not None and old is not None and old.nullable and not any(
                            x.kind == "column" and x.attribute == "nullable"
                            and x.identity == (relation.schema, relation.name, column_name)
                            for x in p.changes):
                        _set_not_null(p, relation, table, column)
            if not _plain_index_kept(p, relation, index):
                if _source_plain_index(p, relation, index.name):
                    # One of that name that changes (an invalid one): made again.
                    p.emit("drop_indexes", "DROP INDEX CONCURRENTLY "
                           f"{qualify(relation.schema, index.name)}",
                           Hazard("index-unavailable", f"`{index.name}` is built again as "
                                  f"the index of `{subject}`."),
                           transactional=False, subject=subject)
                p.emit("constraints", _concurrent_index(index.definition),
                       Hazard("long-scan", f"Builds the index of `{subject}`; writes "
                              "continue." + _duplicates_fail(index, concurrently=True)),
                       transactional=False, subject=subject)
            kind = "PRIMARY KEY" if constraint.kind == "primary_key" else "UNIQUE"
            tail = re.search(r"\s(DEFERRABLE.*|NOT DEFERRABLE.*)$", definition)
            p.emit("constraints", f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING "
                   f"INDEX {name}{' ' + tail.group(1) if tail else ''}", subject=subject)
            return
    target_index = next((i for i in relation.indexes if i.name == constraint.name), None)
    cascade = (relation.schema, relation.name, constraint.name)
    taken, safe = p.cascades.get(cascade, ([], True))
    if not safe:
        p.emit("constraints", f"-- ALTER TABLE {table} ADD CONSTRAINT {name} is not "
               f"generated: the partitions' keys attached to its index `{constraint.name}` "
               "hold it", Hazard("not-generated", f"PostgreSQL refuses to drop the index "
                                 f"`{constraint.name}` while the partitions' keys attached to "
                                 "it stand, and to drop those keys while it stands (2BP01 "
                                 "each); DROP INDEX ... CASCADE would take foreign keys or "
                                 "keys the target keeps too: drop them, then the index, by "
                                 "hand."), subject=subject)
        return
    if target_index is not None and _source_plain_index(p, relation, target_index.name):
        # No USING INDEX here (a partitioned table): the plain index goes, the constraint
        # builds its own under the same name. With the partitions' keys attached to it,
        # CASCADE takes them (each refuses to go while the other stands, 2BP01).
        p.emit("drop_indexes", f"DROP INDEX {qualify(relation.schema, target_index.name)}"
               + (" CASCADE" if taken else ""),
               Hazard("index-unavailable", f"`{target_index.name}` is built again as the "
                      f"index of `{subject}`" + (f", and takes the partitions' keys "
                                                 f"attached to it ({', '.join(taken)}), "
                                                 "made again by it where the target keeps "
                                                 "them." if taken else ".")),
               subject=subject)
    p.emit("constraints", f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
           Hazard("access-exclusive-lock", f"Builds the index of `{subject}` while holding an "
                  f"ACCESS EXCLUSIVE lock on `{relation.qualified_name}`: reads and writes "
                  "wait." + (_duplicates_fail(target_index, concurrently=False)
                             if target_index is not None else "")), subject=subject)


def _source_plain_index(p: _Plan, relation: Relation, name: str) -> bool:
    """Whether the source's `relation` has a plain (no constraint's) index named `name`."""
    source = p.source.relation(relation.schema, relation.name)
    return source is not None and not _constraint_index(source, name) and any(
        i.name == name for i in source.indexes)


def _plain_index_kept(p: _Plan, relation: Relation, index: Index) -> bool:
    """Whether the unique index a new constraint takes already exists: a plain index of the
    same name and definition in the source, which the plan leaves alone (USING INDEX then
    takes it as it is)."""
    source = p.source.relation(relation.schema, relation.name)
    if source is None or _constraint_index(source, index.name):
        return False
    old = next((i for i in source.indexes if i.name == index.name), None)
    return old is not None and old.definition == index.definition and not any(
        x.kind == "index" and x.identity == (relation.schema, relation.name, index.name)
        for x in p.changes)


def _keep_plain_index(p: _Plan, target: Relation | None, constraint: Constraint) -> None:
    """A UNIQUE or PRIMARY KEY constraint dropped whose index the target keeps as a plain
    index: DROP CONSTRAINT takes the index along, so it is built again."""
    if target is None or constraint.kind not in ("primary_key", "unique") \
            or _constraint_index(target, constraint.name):
        return
    index = next((i for i in target.indexes if i.name == constraint.name), None)
    if index is None:
        return
    _build_index(p, target, index, Hazard(
        "index-unavailable", f"`{index.name}` goes with the constraint it belonged to and is "
        "built again as a plain index; uniqueness is not enforced in between."))


def _kept_partitions(p: _Plan, parent: Relation) -> Iterator[tuple[Relation, Relation]]:
    """The source's partitions of `parent` that stay under it, each with its target's."""
    for partition in p.source.relations:
        key = (partition.schema, partition.name)
        target = p.target.relation(*key)
        if partition.partition_of == parent.qualified_name and target is not None \
                and target.partition_of == partition.partition_of \
                and key not in p.dropped_relations and key not in p.replaced_relations:
            yield partition, target


def _keep_partition_keys(p: _Plan, table_key: tuple[str, ...], dropped: Constraint) -> None:
    """Add again each kept partition's copy of `dropped` (a partitioned table's primary key
    or unique constraint) that the target keeps as the partition's own key: the parent's
    DROP CONSTRAINT takes it, though the diff sees it on both sides. It comes before the
    parent's indexes, so one of its definition attaches it as the target has it."""
    parent = p.source.relation(*table_key)
    if parent is None or parent.kind != "partitioned_table" \
            or dropped.kind not in ("primary_key", "unique"):
        return
    for partition, target in _kept_partitions(p, parent):
        copy = next((k for k in partition.constraints if k.kind == dropped.kind
                     and k.definition == dropped.definition), None)
        kept = next((k for k in target.constraints if k.name == copy.name
                     and k.definition == copy.definition), None) if copy is not None else None
        if kept is not None \
                and not p.changes_of((target.schema, target.name, kept.name)) \
                and not _inherited_constraint(p, target, kept):
            _add_constraint(p, target, kept)


def _duplicates_fail(index: Index, *, concurrently: bool) -> str:
    """What rows already there do to building a unique index (a key's too): two with the
    same key make it fail (23505), and a CONCURRENTLY build, which commits as it goes,
    leaves the index behind INVALID under its name, so the script run again fails at it
    (42P07) until it is dropped. Empty for an index that is not unique."""
    if not index.unique:
        return ""
    return (" Rows with the same key make it fail (23505)"
            + (f" and leave `{index.name}` behind INVALID: drop it before running the script "
               "again." if concurrently else "."))


def _build_index(p: _Plan, relation: Relation, index: Index, *hazards: Hazard,
                 comment: bool = True) -> bool:
    """CREATE INDEX as the target has it: CONCURRENTLY (writes continue), or plainly on a
    partitioned table, which cannot build concurrently; then its comment. Returns False
    when a partitioned table's statement builds an index of a partition itself."""
    subject = f"{relation.qualified_name}.{index.name}"
    built_first = True
    if relation.kind == "partitioned_table":
        # CREATE INDEX on a partitioned table takes SHARE on it and on every partition:
        # reads continue, writes wait (pg_locks), briefly when it only attaches.
        built_first = _partition_indexes_first(p, relation, index)
        p.emit("indexes", _partitioned_index(index), *hazards,
               Hazard("share-lock", f"`{index.name}` is on a partitioned table, which cannot "
                      "build indexes CONCURRENTLY: " + (
                          "it attaches its partitions' indexes, built above, and writes to "
                          "every partition wait while it does." if built_first else
                          "writes to every partition wait while it builds; reads "
                          "continue.") + _duplicates_fail(index, concurrently=False)),
               subject=subject)
        _attach_to_on_only(p, relation, index)
    else:
        p.emit("indexes", _concurrent_index(index.definition), *hazards,
               Hazard("long-scan", f"Builds `{index.name}`; writes continue."
                      + _duplicates_fail(index, concurrently=True)),
               transactional=False, subject=subject)
    qname = qualify(relation.schema, index.name)
    if comment and index.comment is not None and qname not in p.commented_indexes:
        p.commented_indexes.add(qname)
        p.emit("comments", f"COMMENT ON INDEX {qname} IS {_text(index.comment)}",
               subject=subject)
    _index_marks(p, relation, index)
    return built_first


def _index_marks(p: _Plan, relation: Relation, index: Index) -> None:
    """What a built index carries besides its definition, as the target has it: the CLUSTER
    ON mark and its expression columns' statistics targets, which `DROP INDEX` took and
    `CREATE INDEX` does not set (once per index)."""
    qname = qualify(relation.schema, index.name)
    if qname in p.marked_indexes:
        return
    p.marked_indexes.add(qname)
    subject = f"{relation.qualified_name}.{index.name}"
    if index.clustered:
        p.emit("statistics", f"ALTER {_OBJECT_WORD[relation.kind]} "
               f"{qualify(relation.schema, relation.name)} CLUSTER ON {quote(index.name)}",
               subject=subject)
    for entry in index.statistics:
        position, _, target = entry.partition("=")
        p.emit("statistics", f"ALTER INDEX {qname} ALTER COLUMN {position} SET STATISTICS "
               f"{target}", subject=subject)


def _index_mark_changes(p: _Plan, changes: list[Change]) -> None:
    """An index kept whose CLUSTER ON mark or statistics targets alone change: set in
    place (one built again got the target's with its build)."""
    for c in changes:
        if c.action != ALTER or c.attribute not in ("clustered", "statistics"):
            continue
        relation = p.target.relation(c.identity[0], c.identity[1])
        qname = qualify(c.identity[0], c.identity[2])
        if relation is None or (qname in p.marked_indexes and (
                c.attribute != "clustered" or c.new)):
            continue  # (a mark taken off is taken off whatever built the index)
        table = f"{_OBJECT_WORD[relation.kind]} {qualify(relation.schema, relation.name)}"
        if c.attribute == "clustered":
            if c.new:
                p.emit("statistics", f"ALTER {table} CLUSTER ON {quote(c.identity[2])}",
                       subject=c.subject)
            elif not any(i.clustered for i in relation.indexes):  # else CLUSTER ON moves it
                p.emit("statistics", f"ALTER {table} SET WITHOUT CLUSTER", subject=c.subject)
            continue
        old = dict(entry.partition("=")[::2] for entry in c.old)
        new = dict(entry.partition("=")[::2] for entry in c.new)
        for position in sorted({*old, *new}, key=int):
            if old.get(position) != new.get(position):
                p.emit("statistics", f"ALTER INDEX {qname} ALTER COLUMN {position} SET "
                       f"STATISTICS {new.get(position, '-1')}", subject=c.subject)


def _partition_indexes_first(p: _Plan, relation: Relation, index: Index) -> bool:
    """Build, under the target's names, the indexes of `relation`'s partitions that the
    target attaches to `index` (a partitioned table's), before `index` itself: its CREATE
    INDEX then attaches each partition's matching index instead of building one under a
    name PostgreSQL picks (`<table>_<columns>_idx`), which pg_dump's schemas (GitLab's
    `index_2cafcd1df7`) rarely have. An existing partition's is built CONCURRENTLY, so the
    parent's own statement no longer builds anything while it holds its lock. Returns
    whether every partition's index is built first (so the parent's builds nothing)."""
    if relation.kind != "partitioned_table":
        return False
    every = True
    tail = _index_tail(index.definition)
    source = p.source.relation(relation.schema, relation.name)
    # An unattached index of a kept partition is attached by the parent's CREATE INDEX;
    # one the source's parent has a match for may be attached to it, and go with its DROP
    # (a key's index of the parent attaches only the partition's key's, never a plain one).
    attachable = source is not None and source.kind == "partitioned_table" and not any(
        _index_tail(i.definition) == tail and i.unique == index.unique
        and not _constraint_index(source, i.name) for i in source.indexes)
    for partition in _target_partitions(p, relation):
        constraint_names = {k.name for k in partition.constraints}
        own = next((i for i in partition.indexes if _index_tail(i.definition) == tail
                    and i.unique == index.unique and i.name not in constraint_names
                    and (partition.schema, partition.name, i.name)
                    not in p.built_partition_indexes), None)
        if own is None:
            every = False  # its CREATE INDEX builds one, named as PostgreSQL picks
            continue
        p.built_partition_indexes.add((partition.schema, partition.name, own.name))
        if attachable and _kept_unchanged_index(p, partition, own):
            continue  # the parent's CREATE INDEX attaches it (a second build failed: 42P07)
        moved = p.source.relation(partition.schema, partition.name)
        if moved is not None and moved.partition_of != partition.partition_of \
                and _kept_unchanged_index(p, partition, own):
            # Its old parent's copy: kept by the DETACH unless that parent's index was
            # dropped before it; the new parent's CREATE INDEX attaches it either way.
            p.emit("indexes", _concurrent_index(own.definition).replace(
                " CONCURRENTLY ", " CONCURRENTLY IF NOT EXISTS ", 1),
                Hazard("long-scan", f"Builds `{own.name}` unless its old parent's detach "
                       "kept it; writes continue."),
                transactional=False, subject=f"{partition.qualified_name}.{own.name}")
            continue
        if (partition.schema, partition.name) in p.created_relations:
            _partition_indexes_first(p, partition, own)
            p.emit("indexes", _plain_index(own.definition),
                   subject=f"{partition.qualified_name}.{own.name}")
        else:
            every = _build_index(p, partition, own, comment=False) and every
    return every


def _attach_partition_indexes(p: _Plan, relation: Relation, name: str) -> bool:
    """Make a partitioned table's invalid index (made `ON ONLY`, a partition's left
    unattached) valid as the target has it: `ALTER INDEX ... ATTACH PARTITION` of each
    partition's matching index, kept from the source (one already attached stays so),
    which PostgreSQL then marks valid. Returns False, emitting nothing, when the index
    changes otherwise or a partition has no such index (it is built again then)."""
    if relation.kind != "partitioned_table" or any(
            x.attribute not in ("valid", "comment") for x in p.changes_of(
                (relation.schema, relation.name, name))):
        return False
    index = next((i for i in relation.indexes if i.name == name), None)
    if index is None:
        return False
    tail = _index_tail(index.definition)
    attach = []
    for partition in p.target.relations:
        if partition.partition_of != relation.qualified_name or (
                partition.schema, partition.name) in p.created_relations:
            continue  # (a new one's CREATE TABLE ... PARTITION OF makes its copy attached)
        keys = {k.name for k in partition.constraints}
        matching = [i for i in partition.indexes if _index_tail(i.definition) == tail
                    and i.unique == index.unique]
        # A key's index where no plain one matches: the partition's own primary key or
        # unique constraint, made over its index by this script or before (`ADD CONSTRAINT
        # ... USING INDEX` comes before the ATTACH, as pg-schema-diff's 'Add primary key
        # to partition using existing index' makes it).
        own = [i for i in matching if i.name not in keys] or matching
        if len(own) != 1 or not _kept_unchanged_index(p, partition, own[0],
                                                      keyed=own[0].name in keys):
            return False
        attach.append(qualify(partition.schema, own[0].name))
    qname = qualify(relation.schema, name)
    for child in attach:
        p.emit("indexes", f"ALTER INDEX {qname} ATTACH PARTITION {child}",
               subject=f"{relation.qualified_name}.{name}")
    return True


def _kept_unchanged_index(p: _Plan, partition: Relation, index: Index, *,
                          keyed: bool = False) -> bool:
    """Whether the source's `partition` (kept) has `index` as the target has it, and no
    change touches it (but, for a key's index (`keyed`), the key made over it)."""
    key = (partition.schema, partition.name)
    source = p.source.relation(*key)
    if source is None or key in p.created_relations or key in p.replaced_relations \
            or any(not (keyed and x.kind == "constraint" and x.action == ADD)
                   for x in p.changes_of((*key, index.name))):
        return False
    return any(i.name == index.name and i.definition == index.definition
               for i in source.indexes)


def _index_attachments(p: _Plan, changes: list[Change]) -> None:
    """A partition whose index attached to its parent's is another index in the target
    (`diff._attached_indexes`): not generated. PostgreSQL has no `DETACH` for an index and
    refuses to drop one attached (2BP01); `ATTACH PARTITION` again attaches the matching
    index it finds first, the same one."""
    for c in changes:
        if c.new is None:
            continue  # (the index attached in the source: said with the target's)
        schema, name, index = c.identity
        relation = p.source.relation(schema, name)
        parent = relation.partition_of if relation is not None else None
        held = next((i.name for i in relation.indexes if i.attached_to == c.new), None) \
            if relation is not None else None
        if parent is None or held is None:
            continue
        parent_index = qualify(_split(parent)[0], c.new)
        p.emit("indexes", f"-- index {qualify(schema, index)}: attaching it to "
               f"{parent_index} is not generated",
               Hazard("not-generated", f"`{qualify(schema, held)}` of `{schema}.{name}` is "
                      f"the index attached to `{parent_index}`, `{index}` in the target: "
                      "PostgreSQL cannot detach an index, refuses to drop one attached "
                      f"(2BP01), and attaches `{held}` again on `ATTACH PARTITION`. Drop "
                      f"`{parent_index}` and create it again by hand, `{index}` being the only "
                      "matching index of the partition then."), subject=c.subject)


def _concurrent_index(definition: str) -> str:
    """`CREATE [UNIQUE] INDEX name ON ...` from pg_get_indexdef, built CONCURRENTLY."""
    return re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX CONCURRENTLY ", definition,
                  count=1)


def _partitioned_index(index: Index) -> str:
    """A partitioned table's index as built fresh (cascading to the partitions), but one
    the target holds INVALID `ON ONLY` (its partitions' copies not all attached: never
    made, pg-schema-diff's `some_invalid_idx`), which `ON ONLY` makes again as it is."""
    if not index.valid and " ON ONLY " in index.definition:
        return index.definition
    return _plain_index(index.definition)


def _attach_to_on_only(p: _Plan, relation: Relation, index: Index) -> None:
    """Attach to an index `_partitioned_index` made `ON ONLY` the partitions' indexes the
    target attaches to it: `ON ONLY` attaches none, and the diff does not compare an index
    attached on one side alone (the target refuses its `DROP INDEX`, 2BP01; attaching the
    last partition's makes the parent's valid there, not here)."""
    if index.valid or " ON ONLY " not in index.definition:
        return
    for partition in _target_partitions(p, relation):
        for attached in (i for i in partition.indexes if i.attached_to == index.name):
            p.emit("indexes", f"ALTER INDEX {qualify(relation.schema, index.name)} ATTACH "
                   f"PARTITION {qualify(partition.schema, attached.name)}",
                   subject=f"{relation.qualified_name}.{index.name}")


def _plain_index(definition: str) -> str:
    # pg_get_indexdef says ON ONLY for an index of a partitioned table; built fresh, it
    # should cascade to the partitions as the original did.
    return definition.replace(" ON ONLY ", " ON ", 1)


def _indexes(p: _Plan, changes: list[Change]) -> None:
    renamed = _renamed_partition_indexes(p, changes)
    _invalid_in_target(p, changes)
    for c in changes:
        if c.identity in renamed:
            continue
        if c.action == ALTER and c.attribute == "valid" and any(
                x.attribute == "definition" for x in p.changes_of(c.identity)):
            continue  # its new definition builds it again (both were emitted twice)
        table_key = (c.identity[0], c.identity[1])
        if table_key in p.created_relations:
            continue
        source_relation = p.source.relation(*table_key)
        target_relation = p.target.relation(*table_key)
        name = c.identity[2]
        if c.action == ALTER and c.attribute in ("clustered", "statistics"):
            continue  # set in place unless it is built again (`_index_mark_changes`)
        if c.action == ALTER and c.attribute == "valid" and c.new \
                and target_relation is not None \
                and _attach_partition_indexes(p, target_relation, name):
            continue  # (a key's too: `ALTER TABLE ONLY ... ADD PRIMARY KEY` makes it invalid)
        if c.kind == "index" and c.action == ALTER and c.attribute == "definition" and \
                _options_alone_change(p, c, source_relation, target_relation):
            continue
        if _constraint_index(source_relation, name) or _constraint_index(target_relation, name):
            continue  # built and dropped with its constraint
        if c.kind == "index" and (
                (target_relation is not None and target_relation.partition_of
                 and c.action == ADD and _inherited_index(p, target_relation, c.new)
                 and not _attach_takes_another(p, target_relation, c.new))
                or (source_relation is not None and source_relation.partition_of
                    and c.action == DROP and _parent_index_dropped(p, source_relation, c.old))):
            if c.action == DROP and target_relation is not None and source_relation and \
                    target_relation.partition_of != source_relation.partition_of:
                # The partition leaves its parent: DETACH keeps its copy of the parent's
                # index as its own, unless the parent's was dropped before (IF EXISTS).
                p.emit("drop_left_constraints",
                       f"DROP INDEX CONCURRENTLY IF EXISTS {qualify(c.identity[0], name)}",
                       Hazard("index-unavailable", f"Queries that use `{name}` become "
                              "slower."), transactional=False, subject=c.subject)
            continue
        if c.kind == "index" and c.action == ADD and target_relation is not None \
                and target_relation.partition_of:
            _attach_the_copy(p, target_relation, c.new)
        qname = qualify(c.identity[0], name)
        built = (*table_key, name) in p.built_partition_indexes
        if c.kind == "index" and c.action == ALTER and c.attribute == "definition" and \
                source_relation is not None and source_relation.partition_of and \
                _parent_index_dropped(p, source_relation, next(
                    i for i in source_relation.indexes if i.name == name)):
            # Attached to its parent's index, which is redefined: the parent's DROP INDEX
            # takes it, and it is built again before the parent's (or below).
            if built:
                continue
        elif c.action in (DROP, ALTER) and source_relation is not None:
            if c.action == ALTER and c.attribute == "comment":
                if qname not in p.commented_indexes:  # else set by its build
                    p.commented_indexes.add(qname)
                    p.emit("comments", f"COMMENT ON INDEX {qname} IS {_text(c.new)}",
                           subject=c.subject)
                continue
            if table_key in p.dropped_relations and target_relation is None:
                continue
            if source_relation.kind in ("view", "materialized_view") and \
                    table_key in p.recreate_views:
                continue
            if c.action == ALTER and c.attribute == "valid" and not c.new:
                continue  # an index that should be invalid: nothing sane to do
            partitioned = source_relation.kind == "partitioned_table"
            held = _keys_on_parent_index(p, source_relation, name) if partitioned else []
            taken, safe = p.cascades.get((c.identity[0], c.identity[1], name), ([], True)) \
                if c.action == DROP else ([], True)
            if taken and not safe:
                held = taken
            elif taken:
                p.emit("drop_indexes", f"DROP INDEX {qname} CASCADE",
                       Hazard("index-unavailable", f"Queries that use `{name}` become slower; "
                              "it takes the partitions' keys attached to it "
                              f"({', '.join(taken)}), which go too (each refuses to go while "
                              "the other stands, 2BP01)."), subject=c.subject)
                continue
            if held:
                p.emit("drop_indexes", f"-- DROP INDEX {qname} is not generated: partitions' "
                       f"keys are attached to it ({', '.join(held)})",
                       Hazard("not-generated", f"PostgreSQL refuses to drop `{c.subject}` "
                              "while the partitions' keys attached to it stand, and to drop "
                              "those keys while it stands (2BP01 each): detach the "
                              "partitions, drop it and attach them again, by hand."),
                       subject=c.subject)
                continue
            if c.identity not in p.rebuilt_indexes:  # else dropped before its function
                p.emit("drop_indexes",
                       f"DROP INDEX{'' if partitioned else ' CONCURRENTLY'} {qname}",
                       Hazard("index-unavailable", f"Queries that use `{name}` lose it until "
                              "it is built again." if c.action == ALTER else
                              f"Queries that use `{name}` become slower."),
                       transactional=partitioned, subject=c.subject)
                if partitioned and c.action == DROP and target_relation is not None:
                    _keep_partition_indexes(p, target_relation, c.old)
        if c.action in (ADD, ALTER) and target_relation is not None:
            if target_relation.kind in ("view", "materialized_view") and \
                    table_key in p.recreate_views:
                continue
            index = next(i for i in target_relation.indexes if i.name == name)
            if target_relation.partition_of:
                p.built_partition_indexes.add((*table_key, name))
            _build_index(p, target_relation, index)


def _invalid_in_target(p: _Plan, changes: list[Change]) -> None:
    """Say so where the target's index is INVALID (left by a failed `CREATE INDEX
    CONCURRENTLY`, or made `ON ONLY` and not attached everywhere): no statement makes an
    index invalid, so a valid one is kept, or built valid, and the next diff shows it."""
    kept: dict[tuple[str, ...], bool] = {}  # index identity -> built by the script
    for c in changes:
        if c.action != DROP:
            kept[c.identity] = kept.get(c.identity, False) or c.action == ADD \
                or c.attribute == "definition"
    for schema, table in sorted(p.created_relations):
        created = p.target.relation(schema, table)
        kept.update({(schema, table, i.name): True
                     for i in (created.indexes if created is not None else ())})
    for identity, built in kept.items():
        target = p.target.relation(identity[0], identity[1])
        index = next((i for i in target.indexes if i.name == identity[2]), None) \
            if target is not None else None
        if index is None or index.valid or (built and " ON ONLY " in index.definition):
            continue  # (built `ON ONLY`, as the target's: `_partitioned_index`)
        subject = ".".join(identity)
        done = "it is built valid here (or fails as the target's did)" if built else \
            "the valid one here is kept"
        p.emit("indexes", f"-- index {qualify(identity[0], index.name)} is INVALID in the "
               f"target: {'built valid here' if built else 'not made INVALID'}",
               Hazard("not-generated", f"`{subject}` is INVALID in the target (what a failed "
                      "CREATE INDEX CONCURRENTLY leaves, or an `ON ONLY` index some partition "
                      "has no copy of; queries do not use it): no statement makes an index "
                      f"invalid, so {done} and the next diff shows it. Drop the target's or "
                      "build it again there."),
               subject=subject)


def _options_alone_change(p: _Plan, c: Change, source: Relation | None,
                          target: Relation | None) -> bool:
    """`ALTER INDEX ... SET (...)` / `RESET (...)` where an index of a table differs in its
    storage options alone (`WITH (fillfactor=50)`), and True; False to leave the change to
    the drop and build below. A primary key's or unique constraint's index needs it:
    `pg_get_constraintdef` leaves their options out, so the constraint does not change
    and nothing rebuilt the index (the difference stayed after `dbsafe diff --sql`). A
    plain index keeps serving queries instead of being dropped and built again."""
    if source is None or target is None or (c.identity[0], c.identity[1], c.identity[2]) \
            in p.rebuilt_indexes:
        return False
    if any(r.kind != "table" or r.partition_of for r in (source, target)):
        return False  # a partitioned index refuses SET (0A000); a partition's goes with it
    if any(x.kind == "constraint" and x.identity == c.identity for x in p.changes):
        return False  # the constraint is made again, with its index as the target has it
    options = _index_options(c.old, c.new)
    if options is None:
        return False
    removed, given = options
    qname = qualify(c.identity[0], c.identity[2])
    if removed:
        p.emit("relation_options", f"ALTER INDEX {qname} RESET ({', '.join(removed)})",
               subject=c.subject)
    if given:
        p.emit("relation_options", f"ALTER INDEX {qname} SET ({', '.join(given)})",
               subject=c.subject)
    return True


def _index_options(old: str, new: str) -> tuple[list[str], list[str]] | None:
    """(the option names to reset, the `name=value` to set, as `pg_get_indexdef` writes
    them) that turn index definition `old` into `new`, as pglast parses them; None unless
    they differ in their `WITH (...)` alone."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    options: list[dict[str, str]] = []
    statements = []
    for text in (old, new):
        try:
            tree = parse_sql(text)
        except ParseError:
            return None
        statement = tree[0].stmt if len(tree) == 1 else None
        if not isinstance(statement, ast.IndexStmt):
            return None
        given = {}
        for d in statement.options or ():
            item = _option_text(text, d.location) if d.location is not None else None
            if item is None or not item.startswith(f"{d.defname}="):
                return None
            given[d.defname] = item
        options.append(given)
        statement.options = None  # parsed here for this comparison alone
        statements.append(statement)
    before, after = options
    if before == after or statements[0] != statements[1]:
        return None  # the same text: rebuilt for another reason (a collation made again)
    return ([quote(k) for k in before if k not in after],
            [item for k, item in after.items() if before.get(k) != item])


def _option_text(text: str, at: int) -> str | None:
    """The `name=value` of a reloption at `at` (pglast's location, in characters) of an
    index definition: the value a quoted string (`'50'`) or a word (`off`), as
    `flatten_reloptions` (ruleutils.c) writes it."""
    found = _RELOPTION.match(text, at)
    return found.group() if found else None


_RELOPTION = re.compile(r"[a-z_][a-z0-9_]*=(?:'(?:[^']|'')*'(?!')|[^,)\s']+)")


def _renamed_partition_indexes(p: _Plan, changes: list[Change]) -> set[tuple[str, ...]]:
    """Rename a partition's index that the source and the target both attach to the same
    kept index of its parent, under another name (PostgreSQL picked one, pg_dump's schema
    chose its own): neither is built nor dropped (each goes and comes with its parent's),
    so without `ALTER INDEX ... RENAME` the names would differ for ever. Returns the
    identities of the changes the renames stand for."""
    added = [c for c in changes if c.kind == "index" and c.action == ADD]
    dropped = [c for c in changes if c.kind == "index" and c.action == DROP]
    if not added or not dropped:
        return set()
    touched = {c.identity for c in changes if c.kind == "index"}
    done: set[tuple[str, ...]] = set()
    for add in added:
        table_key = (add.identity[0], add.identity[1])
        target = p.target.relation(*table_key)
        source = p.source.relation(*table_key)
        if target is None or source is None or not target.partition_of \
                or target.partition_of != source.partition_of \
                or table_key in p.created_relations:
            continue
        kept = _kept_parent_index(p, target, add.new, touched)
        if kept is None:
            continue
        for drop in dropped:
            if drop.identity in done or drop.identity[:2] != add.identity[:2]:
                continue
            if _index_tail(drop.old.definition) == _index_tail(add.new.definition) \
                    and drop.old.unique == add.new.unique \
                    and _kept_parent_index(p, source, drop.old, touched) == kept:
                p.emit("indexes", f"ALTER INDEX {qualify(table_key[0], drop.identity[2])} "
                       f"RENAME TO {quote(add.identity[2])}", subject=add.subject)
                done |= {drop.identity, add.identity}
                break
    return done


def _kept_parent_index(p: _Plan, partition: Relation, index: Index,
                       touched: set[tuple[str, ...]]) -> str | None:
    """The name of the index of `partition`'s parent that `index` matches, when the source
    and the target both have it and no change touches it."""
    parent_key = _split(partition.partition_of or "")
    source, target = p.source.relation(*parent_key), p.target.relation(*parent_key)
    if source is None or target is None or parent_key in p.created_relations:
        return None  # (a parent created again under its name builds its indexes later)
    tail = _index_tail(index.definition)
    names = [{i.name for i in r.indexes if _index_tail(i.definition) == tail
              and i.unique == index.unique} for r in (source, target)]
    common = sorted(names[0] & names[1])
    if len(common) != 1 or (*parent_key, common[0]) in touched \
            or _constraint_index(source, common[0]) != _constraint_index(target, common[0]):
        return None  # (an index becoming a key's, or no longer one, is dropped and made again)
    return common[0]


def _constraint_index(relation: Relation | None, name: str) -> bool:
    return relation is not None and any(
        k.name == name and k.kind in ("primary_key", "unique", "exclusion")
        for k in relation.constraints)


def _target_partitions(p: _Plan, relation: Relation) -> list[Relation]:
    """The target's partitions of `relation` (`_Plan.target_partitions`, built once)."""
    if p.target_partitions is None:
        p.target_partitions = {}
        for r in p.target.relations:
            if r.partition_of:
                p.target_partitions.setdefault(r.partition_of, []).append(r)
    return p.target_partitions.get(relation.qualified_name, [])


def _keys_on_parent_index(p: _Plan, parent: Relation, name: str, *,
                          kept: bool = True) -> list[str]:
    """The primary keys and unique constraints of `parent`'s partitions (kept, under it, at
    any depth: through a partitioned partition's own index) whose index is attached to its
    plain index `name`, which the plan drops or builds
    again: neither can go while the other stands (pg-schema-diff's 'Add a partitioned
    index that is used by a local primary key', backwards). Only those the target keeps
    too, unless `kept` is False."""
    index = next((i for i in parent.indexes if i.name == name), None)
    if index is None or _constraint_index(parent, name):
        return []
    tail = _index_tail(index.definition)
    if any(_index_tail(i.definition) == tail and i.unique == index.unique and i.name != name
           for i in parent.indexes):
        return []  # (they may be attached to the other)
    held = []
    for partition, target in _kept_partitions(p, parent):
        for constraint in partition.constraints:
            own = next((i for i in partition.indexes if i.name == constraint.name), None) \
                if constraint.kind in ("primary_key", "unique") else None
            if own is not None and own.unique == index.unique \
                    and _index_tail(own.definition) == tail \
                    and (not kept or any(k.name == constraint.name
                                         for k in target.constraints)):
                held.append(f"{partition.qualified_name}.{constraint.name}")
        if partition.kind == "partitioned_table":
            # its own index attached to `name`: the keys of its partitions attached to that
            # one hold `name` too (DROP INDEX refused, 2BP01, naming the sub-partition's key)
            under = next((i.name for i in partition.indexes if i.unique == index.unique
                          and _index_tail(i.definition) == tail
                          and not _constraint_index(partition, i.name)), None)
            if under is not None:
                held.extend(_keys_on_parent_index(p, partition, under, kept=kept))
    return held


def _keep_partition_indexes(p: _Plan, parent: Relation, dropped: Index) -> None:
    """Build again each kept partition's index that was attached to `dropped` (a
    partitioned table's index, gone from the target) and that the target keeps as the
    partition's own: the parent's DROP INDEX takes it with it, though the diff sees it on
    both sides (pg-schema-diff's 'Switch partitioned index to local index')."""
    tail = _index_tail(dropped.definition)
    if any(_index_tail(i.definition) == tail and i.unique == dropped.unique
           and not _constraint_index(parent, i.name) for i in parent.indexes):
        return  # (attached to the parent's other index of that definition, it stays)
    for partition in _target_partitions(p, parent):
        key = (partition.schema, partition.name)
        source = p.source.relation(*key)
        if source is None or key in p.created_relations or key in p.replaced_relations \
                or source.partition_of != partition.partition_of:
            continue
        # (A key's index of that definition is attached to the parent's key, if any.)
        attached = [i for i in source.indexes if _index_tail(i.definition) == tail
                    and i.unique == dropped.unique and not _constraint_index(source, i.name)]
        if len(attached) != 1:
            continue
        kept = next((i for i in partition.indexes if i.name == attached[0].name), None)
        if kept is not None and kept.definition == attached[0].definition \
                and not p.changes_of((*key, kept.name)):
            _build_index(p, partition, kept)


def _parent_index_dropped(p: _Plan, relation: Relation, index: Index) -> bool:
    parent = p.source.relation(*_split(relation.partition_of or ""))
    if parent is None:
        return False
    tail = _index_tail(index.definition)
    return any(i.definition.partition(" USING ")[2] == tail for i in parent.indexes)


# -- triggers, policies, publications ----------------------------------------------------------


def _triggers(p: _Plan, changes: list[Change]) -> None:
    for c in changes:
        table_key = (c.identity[0], c.identity[1])
        if table_key in p.created_relations or _propagated(p, c):
            continue
        if table_key in p.recreate_views and table_key not in p.created_relations:
            continue  # dropped and created with its view
        table = qualify(*table_key)
        name = quote(c.identity[2])
        gone = table_key in p.dropped_relations and p.target.relation(*table_key) is None
        replaced = _replaced_in_place(p, c)
        if c.action in (DROP, ALTER) and c.attribute not in ("enabled", "comment") \
                and not gone and not replaced:
            p.emit("drop_triggers", f"DROP TRIGGER {name} ON {table}", subject=c.subject)
        if c.action == ADD or (c.action == ALTER and c.attribute == "definition"):
            relation = p.target.relation(*table_key)
            trigger = next(t for t in relation.triggers if t.name == c.identity[2]) \
                if relation else None
            if relation is not None and trigger is not None:
                _create_trigger(p, relation, trigger, or_replace=replaced)
        elif c.action == ALTER and c.attribute == "enabled":
            p.emit("triggers", f"ALTER TABLE {table} {_trigger_enable(c.new)} TRIGGER {name}",
                   subject=c.subject)
        elif c.action == ALTER and c.attribute == "comment":
            p.emit("comments", f"COMMENT ON TRIGGER {name} ON {table} IS {_text(c.new)}",
                   subject=c.subject)
    for schema, table_name, trigger_name in sorted(p.recreate_triggers):
        relation = p.target.relation(schema, table_name)
        if relation is None or (schema, table_name) in p.created_relations:
            continue
        if any(c.identity == (schema, table_name, trigger_name) for c in changes):
            continue
        trigger = next((t for t in relation.triggers if t.name == trigger_name), None)
        p.emit("drop_triggers", f"DROP TRIGGER {quote(trigger_name)} ON "
               f"{qualify(schema, table_name)}", subject=f"{schema}.{table_name}.{trigger_name}")
        if trigger is not None:
            _create_trigger(p, relation, trigger)


# -- extended statistics ------------------------------------------------------------------
#
# `CREATE STATISTICS` after the tables, columns and materialized views it reads, `DROP
# STATISTICS` before anything else changes them (nothing depends on a statistics object).
# A table or materialized view dropped and created again, or a column dropped and added
# again, takes the statistics objects on it along without a word: those the target keeps
# are created again after it. One made again is empty until the next ANALYZE.


def _statistics(p: _Plan, changes: list[Change]) -> None:
    remade: set[tuple[str, ...]] = set()
    for c in changes:
        schema, name = c.identity
        qname = qualify(schema, name)
        if c.action == DROP:
            table = _split(c.old.table)
            if table in p.dropped_relations and p.target.relation(*table) is None:
                continue  # goes with its table
            p.emit("drop_statistics", f"DROP STATISTICS {qname}", subject=c.subject)
        elif c.action == ADD or c.attribute == "definition":
            if c.identity in remade:
                continue
            remade.add(c.identity)
            if c.action == ALTER:
                p.emit("drop_statistics", f"DROP STATISTICS {qname}", subject=c.subject)
            _create_statistics(p, _target_object(p, c), created=c.action == ADD)
        elif any(x.attribute == "definition" for x in p.changes_of(c.identity)):
            continue  # made again as the target has it
        elif c.attribute == "target":
            p.emit("statistics", f"ALTER STATISTICS {qname} SET STATISTICS "
                   f"{-1 if c.new is None else c.new}", subject=c.subject)
        else:
            _alter_common(p, c, "STATISTICS", qname, "X")
    changed = {c.identity for c in changes}
    readded: dict[tuple[str, str], set[str]] = {}
    for schema, table_name, column in p.readded_columns:
        readded.setdefault((schema, table_name), set()).add(column)
    for statistics in p.target.extended_statistics:
        key = (statistics.schema, statistics.name)
        table = _split(statistics.table)
        if key in changed or (table in p.created_relations and not (
                table in p.replaced_relations or table in p.recreate_views)):
            continue
        if table in p.replaced_relations or table in p.recreate_views or (
                table in readded and _statistics_columns(statistics.definition)
                & readded[table]):
            _create_statistics(p, statistics, created=False)


def _create_statistics(p: _Plan, statistics: Statistics, *, created: bool) -> None:
    qname = qualify(statistics.schema, statistics.name)
    subject = f"{statistics.schema}.{statistics.name}"
    p.emit("statistics", statistics.definition, subject=subject)
    if statistics.target is not None:
        p.emit("statistics", f"ALTER STATISTICS {qname} SET STATISTICS {statistics.target}",
               subject=subject)
    _comment_acl_owner(p, "STATISTICS", qname, statistics, "X", created=created)


def _statistics_columns(definition: str) -> set[str]:
    """The columns a `CREATE STATISTICS` reads, by name or in an expression; {"*"} where it
    does not parse."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        tree = parse_sql(definition)
    except ParseError:
        return {"*"}
    return column_names(tree) | {str(e.name) for e in nodes(tree, ast.StatsElem) if e.name}


def _mark_readers_of_retyped_columns(p: _Plan) -> None:
    """Triggers whose WHEN clause reads or `UPDATE OF` list names a column whose type or collation
    changes, and policies whose expressions read one: PostgreSQL refuses ALTER COLUMN ... TYPE (...
    COLLATE) while they exist ("cannot alter type of a column used in a trigger definition", "... in
    a policy definition"), so they are dropped before it and created again after."""
    retyped: dict[tuple[str, str], set[str]] = {}
    for c in p.changes:
        if c.kind == "column" and c.action == ALTER and c.attribute in ("type", "collation"):
            retyped.setdefault((c.identity[0], c.identity[1]), set()).add(c.identity[2])
    for (schema, table), columns in sorted(retyped.items()):
        relation = p.source.relation(schema, table)
        if relation is not None:
            _mark_readers_of_columns(p, relation, columns)


def _mark_readers_of_columns(p: _Plan, relation: Relation, columns: set[str]) -> None:
    """The triggers of `relation` whose WHEN clause reads or `UPDATE OF` list names one of
    `columns`, and its policies that read one, are dropped before the columns' ALTER COLUMN
    ... TYPE and created again after (PostgreSQL refuses it while they stand, 0A000)."""
    key = (relation.schema, relation.name)
    for trigger in relation.triggers:
        if columns_read(trigger.definition, "trigger") & columns:
            p.recreate_triggers.add((*key, trigger.name))
    for policy in relation.policies:
        read: set[str] = set()
        for expression in (policy.using, policy.with_check):
            if expression is not None:
                read |= columns_read(expression, "expression")
        if read & columns:
            p.recreate_policies.add((*key, policy.name))


def _mark_users_of_dropped_column(p: _Plan, schema: str, table: str, column: str) -> None:
    """DROP COLUMN takes the indexes and constraints that use the column with it, without
    a word: those of a column dropped and added again are built again after it, as the
    target has them (`_restore_function_users`). A trigger whose WHEN clause reads it or
    whose `UPDATE OF` names it makes PostgreSQL refuse the DROP COLUMN (2BP01): it is
    dropped before and created again after."""
    p.readded_columns.add((schema, table, column))
    relation = p.source.relation(schema, table)
    if relation is None:
        return
    for constraint in relation.constraints:
        if constraint.kind != "not_null" and (column in constraint.columns or column in (
                columns_read(constraint.definition, "constraint"))):
            p.rebuilt_checks.add((schema, table, constraint.name))
    for index in relation.indexes:
        key = (schema, table, index.name)
        if any(c.kind == "index" and c.action == DROP for c in p.changes_of(key)):
            continue  # dropped on its own, named, before the column goes
        if not _constraint_index(relation, index.name) and column in columns_read(
                index.definition, "index"):
            p.rebuilt_indexes.add(key)
    for trigger in relation.triggers:
        if column in columns_read(trigger.definition, "trigger"):
            p.recreate_triggers.add((schema, table, trigger.name))
    # PostgreSQL refuses the DROP COLUMN (2BP01) while a policy reads the column or a
    # foreign key holds a key on it (the key's own is taken along): they go before it and
    # come back after, as the target has them.
    for policy in relation.policies:
        if any(column in columns_read(text, "expression")
               for text in (policy.using, policy.with_check) if text is not None):
            p.recreate_policies.add((schema, table, policy.name))
    dotted = f"{schema}.{table}"
    for referencing in p.source.relations:
        if (referencing.schema, referencing.name) in p.dropped_relations:
            continue
        for constraint in referencing.constraints:
            if constraint.kind == "foreign_key" and constraint.referenced_table == dotted \
                    and column in constraint.referenced_columns and not (
                        referencing.partition_of and _inherited_constraint(
                            p, referencing, constraint, p.source)):
                p.recreate_fks.add((referencing.schema, referencing.name, constraint.name))


def _trigger_enable(state: str) -> str:
    return {"origin": "ENABLE", "disabled": "DISABLE", "replica": "ENABLE REPLICA",
            "always": "ENABLE ALWAYS"}[state]


def _replaced_in_place(p: _Plan, c: Change) -> bool:
    """Whether the trigger of a changed definition is made by `CREATE OR REPLACE TRIGGER`
    (PostgreSQL 14 and later) where it stands, with no DROP before the script's other steps:
    between a DROP and a CREATE the table's writes ran without it (MapSwipe's
    `insert_mapping_sessions_results`, the check that a result's task exists, was gone while
    indexes were built concurrently; task 563). Not for a constraint trigger (PostgreSQL
    refuses to replace one), nor for one that must go before the other steps (a column it
    reads changes type, its function is dropped and created again: `recreate_triggers`)."""
    if c.action != ALTER or c.attribute != "definition" or not _source_from(p, 140000) \
            or c.identity in p.recreate_triggers:
        return False
    return not any(str(text).startswith("CREATE CONSTRAINT TRIGGER") for text in (c.old, c.new))


def _create_trigger(p: _Plan, relation: Relation, trigger: Trigger, *,
                    or_replace: bool = False) -> None:
    subject = f"{relation.qualified_name}.{trigger.name}"
    if relation.partition_of:
        parent = p.target.relation(*_split(relation.partition_of))
        if parent is not None and any(t.name == trigger.name for t in parent.triggers):
            return  # cloned from the parent's trigger
    definition = trigger.definition
    if or_replace and definition.startswith("CREATE TRIGGER "):
        # (it sets the trigger enabled, as a new one is: the state the target has is set below)
        definition = "CREATE OR REPLACE TRIGGER " + definition[len("CREATE TRIGGER "):]
    p.emit("triggers", definition, subject=subject)
    table = qualify(relation.schema, relation.name)
    if trigger.enabled != "origin":
        p.emit("triggers", f"ALTER TABLE {table} {_trigger_enable(trigger.enabled)} TRIGGER "
               f"{quote(trigger.name)}", subject=subject)
    if trigger.comment is not None:
        p.emit("comments", f"COMMENT ON TRIGGER {quote(trigger.name)} ON {table} IS "
               f"{_text(trigger.comment)}", subject=subject)


def _rules(p: _Plan, changes: list[Change]) -> None:
    """Rules of tables and views kept (a relation created, or a view dropped and created
    again, which took its rules along, gets them with it: `_relation_extras`)."""
    remade = {c.identity for c in changes if c.attribute not in ("comment", "enabled")}
    commented = {c.identity for c in changes if c.attribute == "comment"}
    # Kept rules taken off first and created again after (PostgreSQL refuses the DROP of
    # what they stand on while they do: 2BP01): those reading a relation the script drops
    # (or makes again), or calling a function it drops and creates again.
    taken_off: list[tuple[Relation, Rule]] = []
    for relation in p.source.relations:
        key = (relation.schema, relation.name)
        if key in p.created_relations or key in p.recreate_views \
                or key in p.dropped_relations:
            continue
        for rule in relation.rules:
            if (*key, rule.name) not in remade and (
                    (*key, rule.name) in p.recreate_rules
                    or any(_split(read) in p.dropped_relations for read in rule.depends_on)):
                taken_off.append((relation, rule))
    again = {(r.schema, r.name, rule.name) for r, rule in taken_off}
    for c in changes:
        table_key = (c.identity[0], c.identity[1])
        if table_key in p.created_relations or table_key in p.recreate_views:
            continue
        table = qualify(*table_key)
        name = quote(c.identity[2])
        gone = table_key in p.dropped_relations and p.target.relation(*table_key) is None
        if c.action == ALTER and c.attribute == "comment":
            p.emit("comments", f"COMMENT ON RULE {name} ON {table} IS {_text(c.new)}",
                   subject=c.subject)
            continue
        if c.action == ALTER and c.attribute == "enabled":
            if c.identity not in remade and c.identity not in again:  # (else its CREATE)
                p.emit("triggers", f"ALTER TABLE {table} {_trigger_enable(c.new)} RULE "
                       f"{name}", subject=c.subject)
            continue
        if c.action in (DROP, ALTER) and not gone:
            p.emit("drop_triggers", f"DROP RULE {name} ON {table}", subject=c.subject)
        owner = p.target.relation(*table_key)
        made = next((r for r in owner.rules if r.name == c.identity[2]), None) \
            if owner is not None and c.action in (ADD, ALTER) else None
        if owner is not None and made is not None:
            _create_rule(p, owner, made, comment=not any(
                x.attribute == "comment" for x in p.changes_of(c.identity)))
    for relation, rule in taken_off:
        key = (relation.schema, relation.name)
        subject = f"{relation.qualified_name}.{rule.name}"
        p.emit("drop_triggers", f"DROP RULE {quote(rule.name)} ON {qualify(*key)}",
               subject=subject)
        target = p.target.relation(*key)
        kept = next((r for r in target.rules if r.name == rule.name), None) \
            if target is not None else None
        if target is not None and kept is not None:
            _create_rule(p, target, kept, comment=(*key, rule.name) not in commented)


def _create_rule(p: _Plan, relation: Relation, rule: Rule, *, comment: bool = True) -> None:
    subject = f"{relation.qualified_name}.{rule.name}"
    table = qualify(relation.schema, relation.name)
    p.emit("triggers", rule.definition.rstrip().rstrip(";"), subject=subject)
    if rule.enabled != "origin":
        p.emit("triggers", f"ALTER TABLE {table} {_trigger_enable(rule.enabled)} RULE "
               f"{quote(rule.name)}", subject=subject)
    if comment and rule.comment is not None:
        p.emit("comments", f"COMMENT ON RULE {quote(rule.name)} ON {table} IS "
               f"{_text(rule.comment)}", subject=subject)


def _policies(p: _Plan, changes: list[Change]) -> None:
    recreated: set[tuple[str, ...]] = set()
    altered = _altered_in_place(p, changes)
    for c in changes:
        table_key = (c.identity[0], c.identity[1])
        if table_key in p.created_relations:
            continue
        if c.action == ALTER and c.attribute != "comment":
            if c.identity in recreated:
                continue
            recreated.add(c.identity)
            if c.identity in altered:
                _alter_policy(p, c, altered[c.identity])
                continue
        table = qualify(*table_key)
        name = quote(c.identity[2])
        if c.action == ALTER and c.attribute == "comment":
            p.emit("comments", f"COMMENT ON POLICY {name} ON {table} IS {_text(c.new)}",
                   subject=c.subject)
            continue
        gone = table_key in p.dropped_relations and p.target.relation(*table_key) is None
        if c.action in (DROP, ALTER) and not gone:
            p.emit("drop_policies", f"DROP POLICY {name} ON {table}",
                   *_changed_policy_gap(p, c), subject=c.subject)
        if c.action in (ADD, ALTER):
            relation = p.target.relation(*table_key)
            policy = _policy(p.target, c.identity)
            if relation is not None and policy is not None:
                _create_policy(p, relation, policy)
    for schema, table_name, policy_name in sorted(p.recreate_policies):
        relation = p.target.relation(schema, table_name)
        if relation is None or (schema, table_name, policy_name) in recreated \
                or any(c.identity == (schema, table_name, policy_name) for c in changes):
            continue
        policy = _policy(p.source, (schema, table_name, policy_name))
        subject = f"{schema}.{table_name}.{policy_name}"
        gap = ("rows it hides are visible" if policy is not None and not policy.permissive
               else "rows it lets through are hidden")
        p.emit("drop_policies", f"DROP POLICY {quote(policy_name)} ON "
               f"{qualify(schema, table_name)}",
               Hazard("policy-gap", f"Policy `{subject}` reads a column whose type or "
                      "collation changes, or that is dropped and added again, or calls a "
                      "function dropped and created again (PostgreSQL refuses that while it "
                      f"stands): it is dropped and created again; in between, {gap}."),
               subject=subject)
        again = _policy(p.target, (schema, table_name, policy_name))
        if again is not None:
            _create_policy(p, relation, again)


def _altered_in_place(p: _Plan, changes: list[Change]) -> dict[tuple[str, ...], set[str]]:
    """The changed policies `ALTER POLICY` changes where they stand, each with what
    changes: roles, USING, WITH CHECK (not its command nor whether it is permissive), an
    expression only changed, never removed (ALTER POLICY cannot), and no column it reads
    changing type nor function it calls replaced (PostgreSQL refuses those while it
    stands: `recreate_policies`). Between a DROP and a CREATE the table is read without
    it; an ALTER leaves no such gap."""
    found: dict[tuple[str, ...], set[str]] = {}
    for c in changes:
        if c.action == ALTER and c.attribute != "comment":
            found.setdefault(c.identity, set()).add(c.attribute or "")
    in_place: dict[tuple[str, ...], set[str]] = {}
    for identity, attributes in found.items():
        if not attributes <= {"roles", "using", "with_check"} \
                or identity in p.recreate_policies:
            continue
        policy = _policy(p.target, identity)
        if policy is None or ("using" in attributes and policy.using is None) \
                or ("with_check" in attributes and policy.with_check is None):
            continue
        in_place[identity] = attributes
    return in_place


def _policy(snapshot: SchemaSnapshot, identity: tuple[str, ...]) -> Policy | None:
    relation = snapshot.relation(identity[0], identity[1])
    return next((x for x in relation.policies if x.name == identity[2]), None) \
        if relation is not None else None


def _alter_policy(p: _Plan, c: Change, attributes: set[str]) -> None:
    policy = _policy(p.target, c.identity)
    assert policy is not None  # _altered_in_place
    sql = f"ALTER POLICY {quote(policy.name)} ON {qualify(c.identity[0], c.identity[1])}"
    if "roles" in attributes:
        sql += " TO " + (", ".join("PUBLIC" if r == "public" else quote(r)
                                   for r in policy.roles) or "PUBLIC")
    if "using" in attributes:
        sql += f" USING ({policy.using})"
    if "with_check" in attributes:
        sql += f" WITH CHECK ({policy.with_check})"
    p.emit("policies", sql, subject=c.subject)


def _changed_policy_gap(p: _Plan, c: Change) -> list[Hazard]:
    """A changed policy is dropped before the script's other steps and created after them
    (its new expressions may read what they make): on a table with row security enabled,
    queries in between see the table without it."""
    source = p.source.relation(c.identity[0], c.identity[1])
    if c.action != ALTER or source is None or not source.rls_enabled:
        return []
    policy = _policy(p.source, c.identity)
    if policy is None:
        return []
    gap = "rows it hides are visible" if not policy.permissive \
        else "rows it lets through are hidden"
    return [Hazard("policy-gap", f"Policy `{c.subject}` changes: it is dropped here and "
                   f"created again once the rest of the script has run; in between, {gap}.")]


def _create_policy(p: _Plan, relation: Relation, policy: Policy) -> None:
    sql = (f"CREATE POLICY {quote(policy.name)} ON {qualify(relation.schema, relation.name)} "
           f"AS {'PERMISSIVE' if policy.permissive else 'RESTRICTIVE'} FOR {policy.command}")
    if policy.roles:
        sql += " TO " + ", ".join("PUBLIC" if r == "public" else quote(r) for r in policy.roles)
    if policy.using is not None:
        sql += f" USING ({policy.using})"
    if policy.with_check is not None:
        sql += f" WITH CHECK ({policy.with_check})"
    subject = f"{relation.qualified_name}.{policy.name}"
    p.emit("policies", sql, subject=subject)
    if policy.comment is not None:
        p.emit("comments", f"COMMENT ON POLICY {quote(policy.name)} ON "
               f"{qualify(relation.schema, relation.name)} IS {_text(policy.comment)}",
               subject=subject)


def _publications(p: _Plan, changes: list[Change]) -> None:
    members_set: set[str] = set()
    for c in changes:
        name = quote(c.identity[0])
        new = next((x for x in p.target.publications if x.name == c.identity[0]), None)
        if c.action == DROP or (c.action == ALTER and c.attribute == "all_tables"):
            p.emit("drop_views", f"DROP PUBLICATION {name}", subject=c.subject)
        if new is not None and (c.action == ADD or c.attribute == "all_tables"):
            members = _publication_members(new.tables, new.schemas)
            scope = " FOR ALL TABLES" if new.all_tables else (
                f" FOR {members}" if members else "")
            p.emit("publications", f"CREATE PUBLICATION {name}{scope} WITH (publish = "
                   f"{literal(', '.join(new.operations))})", subject=c.subject)
            if new.comment is not None:
                p.emit("comments", f"COMMENT ON PUBLICATION {name} IS {_text(new.comment)}",
                       subject=c.subject)
        elif c.action == ALTER and c.attribute in ("tables", "schemas"):
            if new is None or c.subject in members_set:
                continue  # one statement sets both
            members_set.add(c.subject)
            old = next(x for x in p.source.publications if x.name == c.identity[0])
            members = _publication_members(new.tables, new.schemas)
            p.emit("publications", f"ALTER PUBLICATION {name} SET {members}" if members else
                   f"ALTER PUBLICATION {name} DROP "
                   + _publication_members(old.tables, old.schemas), subject=c.subject)
        elif c.action == ALTER and c.attribute == "operations":
            p.emit("publications", f"ALTER PUBLICATION {name} SET (publish = "
                   f"{literal(', '.join(c.new))})", subject=c.subject)
        elif c.action == ALTER and c.attribute == "comment":
            p.emit("comments", f"COMMENT ON PUBLICATION {name} IS {_text(c.new)}",
                   subject=c.subject)
        elif c.action == ALTER and c.attribute == "owner" and c.new:
            p.emit("owners", f"ALTER PUBLICATION {name} OWNER TO {quote(c.new)}",
                   subject=c.subject)
    # A table dropped and created again under its name (a new partition key, a table made
    # partitioned) leaves the publications that list it with its DROP TABLE: it is added
    # to them again, where no statement above sets their tables.
    remade = {c.identity[0] for c in changes
              if c.action == ADD or (c.action == ALTER and c.attribute == "all_tables")}
    replaced = {f"{schema}.{name}" for schema, name in p.replaced_relations}
    for publication in p.target.publications:
        subject = publication.name
        if subject in remade or subject in members_set or publication.all_tables:
            continue
        again = [t for t in publication.tables if t in replaced]
        if again:
            p.emit("publications", f"ALTER PUBLICATION {quote(subject)} ADD "
                   + _publication_members(again, ()), subject=subject)


def _publication_members(tables: Sequence[str], schemas: Sequence[str]) -> str:
    """`TABLE a, b, TABLES IN SCHEMA s`: a publication's tables and schemas, as CREATE and
    ALTER PUBLICATION list them."""
    members = []
    if tables:
        members.append("TABLE " + ", ".join(_dotted(t) for t in tables))
    if schemas:
        members.append("TABLES IN SCHEMA " + ", ".join(quote(s) for s in schemas))
    return ", ".join(members)


# -- event triggers ----------------------------------------------------------------------------
#
# Dropped (and disabled) before every other step, created (and enabled) after every other
# one, as pg_dump restores them last: an event trigger the target has does not fire on the
# script's own DDL, one it does not have no longer fires on it.

# Attributes CREATE EVENT TRIGGER sets that no ALTER EVENT TRIGGER changes.
_EVENT_TRIGGER_REMADE = ("event", "tags", "function")


def _event_triggers(p: _Plan, changes: list[Change]) -> None:
    remade = {c.identity for c in changes
              if c.action == ALTER and c.attribute in _EVENT_TRIGGER_REMADE}
    for c in changes:
        name = quote(c.identity[0])
        if c.action == DROP or (c.action == ALTER and c.identity in remade):
            if c.action == ALTER and c.attribute != _first_remade(changes, c.identity):
                continue  # one DROP and CREATE for every attribute that needs them
            p.emit("drop_event_triggers", f"DROP EVENT TRIGGER {name}",
                   _needs_superuser("drop"),
                   subject=c.subject)
        if c.action == ADD or (c.action == ALTER and c.identity in remade):
            trigger = next((e for e in p.target.event_triggers if e.name == c.identity[0]),
                           None)
            # One created again belongs to the role running the script: its owner is set
            # where the target's is another than the source's.
            owner_changes = any(x.identity == c.identity and x.attribute == "owner"
                                for x in changes)
            if trigger is not None:
                _create_event_trigger(p, trigger, created=c.action == ADD or owner_changes)
        elif c.action == ALTER and c.attribute == "enabled":
            # Disabled before the script's other steps, enabled after them.
            p.emit("drop_event_triggers" if c.new == "disabled" else "event_triggers",
                   f"ALTER EVENT TRIGGER {name} {_trigger_enable(c.new)}",
                   _needs_superuser("alter"), subject=c.subject)
        elif c.action == ALTER and c.attribute == "owner" and c.new:
            p.emit("event_triggers", f"ALTER EVENT TRIGGER {name} OWNER TO {quote(c.new)}",
                   _needs_superuser("alter"), subject=c.subject)
        elif c.action == ALTER and c.attribute == "comment":
            p.emit("comments", f"COMMENT ON EVENT TRIGGER {name} IS {_text(c.new)}",
                   _needs_superuser("comment on"), subject=c.subject)


# Casts (`CREATE CAST`): no ALTER CAST exists, so one whose function, context or method
# changes is dropped and created again. Dropped before the functions and types the script
# drops (PostgreSQL refuses those while a cast uses them, 2BP01), created after the
# functions and aggregates it creates.
_CAST_CONTEXT_CLAUSE = {"explicit": "", "assignment": " AS ASSIGNMENT",
                        "implicit": " AS IMPLICIT"}


def _casts(p: _Plan, changes: list[Change]) -> None:
    remade = {c.identity for c in changes if c.action == ALTER and c.attribute != "comment"}
    done: set[tuple[str, ...]] = set()
    for c in changes:
        name = f"CAST {c.identity[0]}"
        if c.action == ALTER and c.identity not in remade:
            if c.identity not in p.recreate_casts:  # (else its CREATE, below, sets it)
                p.emit("comments", f"COMMENT ON {name} IS {_text(c.new)}", subject=c.subject)
            continue
        if c.identity in done:
            continue  # one DROP and CREATE for every attribute that needs them
        done.add(c.identity)
        if c.action in (DROP, ALTER):
            p.emit("drop_casts", f"DROP {name}", subject=c.subject)
        if c.action in (ADD, ALTER):
            _create_cast(p, c.identity)
    # A kept cast whose function is dropped and created again goes before that DROP
    # FUNCTION (2BP01 while it stands) and comes back after the new function.
    for identity in sorted(p.recreate_casts - done):
        p.emit("drop_casts", f"DROP CAST {identity[0]}", subject=identity[0])
        _create_cast(p, identity)


def _create_cast(p: _Plan, identity: tuple[str, ...]) -> None:
    """CREATE CAST as the target has it, with its comment (DROP CAST took the old one's)."""
    cast = next((x for x in p.target.casts if f"({x.source} AS {x.target})" == identity[0]),
                None)
    if cast is None:
        return
    name = f"CAST {identity[0]}"
    how = {"binary": "WITHOUT FUNCTION", "inout": "WITH INOUT"}.get(
        cast.method, f"WITH FUNCTION {cast.function}")
    p.emit("casts", f"CREATE {name} {how}{_CAST_CONTEXT_CLAUSE.get(cast.context, '')}",
           subject=identity[0])
    if cast.comment is not None:
        p.emit("comments", f"COMMENT ON {name} IS {_text(cast.comment)}", subject=identity[0])


def _settings(p: _Plan, changes: list[Change]) -> None:
    """`ALTER DATABASE ... SET/RESET` (and `ALTER ROLE ... IN DATABASE ...`) for the database
    the script runs on. The statement needs the database's name, and the two sides' names
    are no guide to it (a throwaway's, a twin's, a snapshot file's): it is read on the spot,
    `current_database()` in a `DO` block, so the script changes the database it runs on and
    no other."""
    for c in changes:
        setting = c.old if c.action == DROP else c.new
        if c.action == ALTER:  # its value
            role, name = c.identity if c.kind == "role_setting" else (None, c.identity[0])
            setting = Setting(name, c.new, role)
        name = ".".join(quote(part) for part in setting.name.split("."))
        if c.action == DROP:
            what = f"RESET {name}"
        else:
            from dbsafe.pg.settings import value_items

            what = f"SET {name} TO " + ", ".join(
                literal(v) for v in value_items(setting.name, setting.value))
        who = f"ROLE {quote(setting.role)} IN " if setting.role is not None else ""
        # (in format()'s string `%` is its own: doubled, but for the database's name)
        command = f"ALTER {who}DATABASE ".replace("%", "%%") + "%I " + what.replace("%", "%%")
        tag = "$$" if "$$" not in command else "$dbsafe$"
        p.emit("settings", f"DO {tag}BEGIN EXECUTE format({literal(command)}, "
               f"current_database()); END{tag}", subject=c.subject)


def _first_remade(changes: list[Change], identity: tuple[str, ...]) -> str | None:
    return next((c.attribute for c in changes if c.identity == identity
                 and c.action == ALTER and c.attribute in _EVENT_TRIGGER_REMADE), None)


def _create_event_trigger(p: _Plan, trigger: EventTrigger, *, created: bool) -> None:
    """CREATE EVENT TRIGGER as the target has it, with its enabled state, comment and (for
    one the source lacks, as for every object created) its owner when not the role the
    script runs as."""
    name = quote(trigger.name)
    tags = (" WHEN TAG IN (" + ", ".join(literal(t) for t in trigger.tags) + ")"
            if trigger.tags else "")
    hazards = [_needs_superuser("create")]
    if trigger.event == "login":
        hazards.append(Hazard("login-blocked", f"Event trigger `{trigger.name}` runs "
                              f"{trigger.function} at every login: while it fails, nobody "
                              "can log in (fixed in single-user mode, where event triggers "
                              "do not fire)."))
    p.emit("event_triggers", f"CREATE EVENT TRIGGER {name} ON {trigger.event}{tags} "
           f"EXECUTE FUNCTION {trigger.function}", *hazards, subject=trigger.name)
    if trigger.enabled != "origin":
        p.emit("event_triggers", f"ALTER EVENT TRIGGER {name} {_trigger_enable(trigger.enabled)}",
               subject=trigger.name)
    if created and trigger.owner and p.default_owner and trigger.owner != p.default_owner:
        p.emit("event_triggers", f"ALTER EVENT TRIGGER {name} OWNER TO {quote(trigger.owner)}",
               subject=trigger.name)
    if trigger.comment is not None:
        p.emit("event_triggers", f"COMMENT ON EVENT TRIGGER {name} IS {_text(trigger.comment)}",
               subject=trigger.name)


def _needs_superuser(doing: str) -> Hazard:
    """CREATE EVENT TRIGGER is a superuser's, and the other statements its owner's, who must
    be one: PostgreSQL (18 and earlier) lets no other role, the database's owner neither."""
    who = "a superuser" if doing == "create" else "the event trigger's owner, a superuser,"
    return Hazard("requires-superuser", f"Only {who} can {doing} it; for any other role this "
                  "statement fails (42501): run the script as one.")


def _servers(p: _Plan, changes: list[Change]) -> None:
    for c in changes:
        name = quote(c.identity[0])
        if c.action == DROP or (c.action == ALTER and c.attribute == "wrapper"):
            p.emit("drop_servers", f"DROP SERVER {name}", subject=c.subject)
        if c.action == ADD or (c.action == ALTER and c.attribute == "wrapper"):
            server = next(x for x in p.target.foreign_servers if x.name == c.identity[0])
            p.emit("servers", f"CREATE SERVER {name} FOREIGN DATA WRAPPER {quote(server.wrapper)}"
                   + _fdw_options(server.options), subject=c.subject)
            if server.comment is not None:
                p.emit("comments", f"COMMENT ON SERVER {name} IS {_text(server.comment)}",
                       subject=c.subject)
        elif c.action == ALTER and c.attribute == "options":
            old = dict(o.partition("=")[::2] for o in c.old)
            new = dict(o.partition("=")[::2] for o in c.new)
            actions = [f"DROP {quote(k)}" for k in old if k not in new]
            actions += [f"SET {quote(k)} {literal(v)}" for k, v in new.items()
                        if k in old and old[k] != v]
            actions += [f"ADD {quote(k)} {literal(v)}" for k, v in new.items() if k not in old]
            p.emit("servers", f"ALTER SERVER {name} OPTIONS ({', '.join(actions)})",
                   subject=c.subject)
        elif c.action == ALTER:
            _alter_common(p, c, "SERVER", name, "S")


# -- comments, grants, owners ------------------------------------------------------------------


def _text(value: str | None) -> str:
    return "NULL" if value is None else literal(value)


def _alter_common(p: _Plan, c: Change, word: str, ref: str, acl_type: str) -> None:
    """Owner, comment and grants: the same statements for every kind of object.

    The owner changes before the grants (`_owner_phases`): `ALTER ... OWNER TO` hands the
    old owner's privileges to the new one, so grants the target gives the old owner (the
    role running the script, often) must come after it, starting from the ACL as the owner
    change leaves it.
    """
    owners, grants = _owner_phases(acl_type)
    if c.attribute == "owner" and c.new:
        p.emit(owners, f"ALTER {word} {ref} OWNER TO {quote(c.new)}", subject=c.subject)
    elif c.attribute == "comment":
        p.emit("comments", f"COMMENT ON {word} {ref} IS {_text(c.new)}", subject=c.subject)
    elif c.attribute == "acl":
        target_obj = _target_object(p, c)
        owner = getattr(target_obj, "owner", None)
        old_owner = getattr(_target_object(p, c, p.source), "owner", None)
        maintain = _source_from(p, 170000)
        before = _effective_acl(c.old, acl_type, owner, maintain=maintain)
        if old_owner and owner and old_owner != owner and any(
                x.identity == c.identity and x.attribute == "owner" for x in p.changes):
            before = _new_owner(before, old_owner, owner)
        revoked = _grant_statements(
            p, f"{_grant_word(word, acl_type)} {ref}", before,
            _effective_acl(c.new, acl_type, owner, maintain=maintain), c.subject, phase=grants,
            revoke_hazards=(_columns_revoked_along(p, target_obj)
                            if isinstance(target_obj, Relation) else None))
        if revoked and isinstance(target_obj, Relation):
            p.table_revokes[(target_obj.schema, target_obj.name)] = revoked
            _grant_columns_again(p, target_obj, ref, revoked)


def _grant_columns_again(p: _Plan, relation: Relation, table: str, revoked: _Revoked,
                         ) -> None:
    """A REVOKE on a table takes the same privileges (or grant options) on its columns from
    the same roles: grant again those the target keeps (a column whose ACL changes gets its
    own statements, from what the table's left it: `_column_acl_after_table_revokes`)."""
    for column in relation.columns:
        identity = (relation.schema, relation.name, column.name)
        if not column.acl or any(x.kind == "column" and x.identity == identity
                                 and x.attribute == "acl" for x in p.changes):
            continue
        kept = _parse_acl(column.acl)
        _grant_statements(p, f"TABLE {table}", _without_revoked(kept, revoked), kept,
                          f"{relation.qualified_name}.{column.name}", column=quote(column.name))


def _columns_revoked_along(p: _Plan, relation: Relation,
                           ) -> Callable[[str, frozenset[str]], tuple[Hazard, ...]]:
    """The hazard of a REVOKE on `relation` that takes from a grantee privileges on columns
    it keeps them on (PostgreSQL's REVOKE on a table reaches its columns): granted again
    after it, they are missing in between. No statement avoids that window."""
    source = p.source.relation(relation.schema, relation.name)
    old_columns = {column.name: column for column in (source.columns if source else ())}

    def hazards(grantee: str, gone: frozenset[str]) -> tuple[Hazard, ...]:
        taken: dict[str, list[str]] = {}
        for column in relation.columns:
            old = old_columns.get(column.name)
            if old is None or not old.acl or not column.acl:
                continue
            kept = (_held(_parse_acl(old.acl).get(grantee))[0]
                    & _held(_parse_acl(column.acl).get(grantee))[0])
            for letter in gone & kept:
                taken.setdefault(letter, []).append(column.name)
        if not taken:
            return ()
        role = "PUBLIC" if grantee == "" else f"`{grantee}`"
        what = "; ".join(f"{_PRIVILEGES[letter]} on {', '.join(f'`{c}`' for c in columns)}"
                         for letter, columns in sorted(taken.items(),
                                                       key=lambda x: _ORDER.index(x[0])))
        return (Hazard("privilege-gap",
                       f"Takes from {role} its {what} of `{relation.qualified_name}` too (a "
                       "REVOKE on a table reaches the same privilege on its columns); granted "
                       f"again after it: in between, {role} cannot use them."),)
    return hazards


def _without_revoked(acl: _Acl, revoked: _Revoked) -> _Acl:
    """A column's ACL `acl` once its table's REVOKEs `revoked` ran."""
    result = dict(acl)
    for grantee, (gone, options_gone) in revoked.items():
        if grantee in result:
            held, options = _held(result[grantee])
            result[grantee] = (held - gone, options - gone - options_gone)
    return result


def _target_object(p: _Plan, c: Change, snapshot: SchemaSnapshot | None = None) -> Any:
    """The object `c` is about, in the target (or in `snapshot`)."""
    return object_of(c, snapshot or p.target)


def _owner_phases(acl_type: str) -> tuple[str, str]:
    """The phases of an object's owner change and of its grants: owners first (see
    `_alter_common`); a schema's both before every other object's owner change, which
    needs the new owner to have CREATE on the schema (a non-superuser's script)."""
    return ("schema_owners", "schema_grants") if acl_type == "n" else ("owners", "grants")


def _new_owner(acl: _Acl, old: str, new: str) -> _Acl:
    """`acl` as `ALTER ... OWNER TO new` leaves it: the old owner's privileges (and grant
    options) become the new owner's, merged with what it held (PostgreSQL's aclnewowner)."""
    result = dict(acl)
    if old in result:
        plain, with_option = result.pop(old)
        old_plain, old_option = result.get(new, (frozenset(), frozenset()))
        result[new] = (old_plain | plain, old_option | with_option)
    return result


def _grant_word(word: str, acl_type: str) -> str:
    if acl_type == "r":
        return "TABLE"  # GRANT ... ON TABLE also covers views and foreign tables
    return {"T": "TYPE", "n": "SCHEMA", "s": "SEQUENCE"}.get(acl_type, word)


def _comment_acl_owner(p: _Plan, word: str, ref: str, obj: Any, acl_type: str, *,
                       created: bool) -> None:
    """Comment, owner and grants of an object the script creates (`created`: one the source
    lacks; else one dropped and created again)."""
    subject = ref
    comment = getattr(obj, "comment", None)
    if comment is not None:
        p.emit("comments", f"COMMENT ON {word} {ref} IS {_text(comment)}", subject=subject)
    owner = getattr(obj, "owner", None)
    owners, grants = _owner_phases(acl_type)
    if created and owner and p.default_owner and owner != p.default_owner:
        p.emit(owners, f"ALTER {word} {ref} OWNER TO {quote(owner)}", subject=subject)
    maintain = _source_from(p, 170000)
    schema = getattr(obj, "schema", None)
    at_creation = _acl_at_creation(p, acl_type, schema, owner, maintain=maintain)
    acl = getattr(obj, "acl", ())
    if acl or at_creation is not None:
        before = at_creation if at_creation is not None else _effective_acl(
            (), acl_type, owner, maintain=maintain)
        _grant_statements(p, f"{_grant_word(word, acl_type)} {ref}", before,
                          _effective_acl(acl, acl_type, owner, maintain=maintain), subject,
                          phase=grants)
    if isinstance(obj, Relation):
        # After the table's: a REVOKE of the table's privileges takes its columns' with it.
        for column in obj.columns:
            if column.acl:
                _grants(p, f"TABLE {ref}", (), column.acl, "c", None,
                        f"{obj.qualified_name}.{column.name}", column=quote(column.name))


def _acl_at_creation(p: _Plan, acl_type: str, schema: str | None, owner: str | None, *,
                     maintain: bool) -> _Acl | None:
    """The privileges an object gets from the source's default privileges when the script
    creates it, or None when none apply (the built-in ones do).

    The script is taken to run as the role most of the target's tables belong to (the one
    it does not write `OWNER TO` for); its entries are seen as `owner`'s, because the
    object's owner changes before its grants and takes the creator's privileges with it.
    """
    creator = p.default_owner
    object_type = _DEFAULT_PRIVILEGE_TYPES.get(acl_type)
    if creator is None or object_type is None:
        return None
    entries = {entry.schema: entry.acl for entry in p.source.default_privileges
               if entry.role == creator and entry.object_type == object_type}
    everywhere = entries.get(None)
    here = entries.get(schema) if schema is not None and acl_type != "n" else None
    if everywhere is None and here is None:
        return None
    # An entry with no privileges (all revoked, from the creator too) is not the built-in ones.
    acl = dict(_parse_acl(everywhere) if everywhere is not None else
               _effective_acl((), acl_type, creator, maintain=maintain))
    for grantee, (plain, with_option) in _parse_acl(here or ()).items():
        old_plain, old_option = acl.get(grantee, (frozenset(), frozenset()))
        acl[grantee] = (old_plain | plain, old_option | with_option)
    if owner and owner != creator and creator in acl:
        plain, with_option = acl.pop(creator)
        old_plain, old_option = acl.get(owner, (frozenset(), frozenset()))
        acl[owner] = (old_plain | plain, old_option | with_option)
    return acl


# The object type of default privileges that gives objects of each ACL type theirs.
_DEFAULT_PRIVILEGE_TYPES = {"r": "tables", "s": "sequences", "f": "functions", "T": "types",
                            "n": "schemas"}
_DEFAULT_PRIVILEGE_ACL_TYPES = {**{word: acl_type for acl_type, word
                                   in _DEFAULT_PRIVILEGE_TYPES.items()},
                                "large objects": "L"}


def _default_privileges(p: _Plan, changes: list[Change]) -> None:
    """`ALTER DEFAULT PRIVILEGES`, after every object the script creates, which got the
    source's default privileges (`_acl_at_creation`)."""
    maintain = _source_from(p, 170000)
    for c in changes:
        schema, role, object_type = c.identity
        acl_type = _DEFAULT_PRIVILEGE_ACL_TYPES.get(object_type)
        if acl_type is None:
            p.emit("default_privileges", f"-- default privileges on {object_type} of {role} "
                   "are not generated",
                   Hazard("not-generated", f"Change the default privileges on {object_type} "
                          f"of `{role}` by hand."), subject=c.subject)
            continue
        old = c.old if c.action == ALTER else getattr(c.old, "acl", ())
        new = c.new if c.action == ALTER else getattr(c.new, "acl", ())
        prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(role)}"
        if schema == "*":  # the entry replaces the built-in privileges
            # An entry with no privileges at all (everything revoked, from the role
            # itself too) is not the built-in ones: only a missing entry is.
            before = (_parse_acl(old) if c.action != ADD else
                      _effective_acl((), acl_type, role, maintain=maintain))
            after = (_parse_acl(new) if c.action != DROP else
                     _effective_acl((), acl_type, role, maintain=maintain))
        else:  # the entry adds to them
            prefix += f" IN SCHEMA {quote(schema)}"
            before, after = _parse_acl(old), _parse_acl(new)
        _grant_statements(p, object_type.upper(), before, after, c.subject,
                          phase="default_privileges", prefix=prefix + " ")


# grantee -> (privileges revoked, grant options revoked of privileges kept), as letters.
_Revoked = dict[str, tuple[frozenset[str], frozenset[str]]]


def _grants(p: _Plan, on: str, old: Sequence[str], new: Sequence[str], acl_type: str,
            owner: str | None, subject: str, *, column: str | None = None) -> _Revoked:
    """REVOKE and GRANT statements that turn ACL `old` into `new` (grantors are not kept);
    what was revoked from each grantee ("" is PUBLIC).

    With `column`, the privileges are that column's (`GRANT UPDATE (col) ON TABLE t`).
    """
    maintain = _source_from(p, 170000)
    return _grant_statements(p, on, _effective_acl(old, acl_type, owner, maintain=maintain),
                             _effective_acl(new, acl_type, owner, maintain=maintain), subject,
                             column=column)


def _grant_statements(p: _Plan, on: str, before: _Acl, after: _Acl, subject: str, *,
                      column: str | None = None, phase: str = "grants", prefix: str = "",
                      revoke_hazards: Callable[[str, frozenset[str]], tuple[Hazard, ...]]
                      | None = None) -> _Revoked:
    """The statements `_grants` writes, from parsed ACLs; `prefix` goes before each (`ALTER
    DEFAULT PRIVILEGES ...`). Returns what was revoked from each grantee (privileges, grant
    options), for the column privileges a table's REVOKE takes along.

    Only what differs is granted or revoked, the grants first: a grantee keeps every
    privilege both ACLs give it throughout (a `REVOKE ALL` then `GRANT SELECT`, narrowing
    SELECT, INSERT to SELECT, left Supabase's `anon` unable to read in between). A grant
    option added is `GRANT ... WITH GRANT OPTION`, one taken away from a privilege kept
    `REVOKE GRANT OPTION FOR`. Never `REVOKE ALL`, even of a grantee left with nothing on
    a table: it would take the grantee's privileges on the table's columns too.
    `revoke_hazards(grantee, privileges)` gives the hazards of revoking those.
    """
    suffix = f" ({column})" if column else ""
    revoked: _Revoked = {}
    for grantee in sorted(before.keys() | after.keys()):
        held_before, options_before = _held(before.get(grantee))
        held_after, options_after = _held(after.get(grantee))
        if (held_before, options_before) == (held_after, options_after):
            continue
        role = "PUBLIC" if grantee == "" else quote(grantee)
        plain = held_after - held_before - options_after
        if plain:
            p.emit(phase, f"{prefix}GRANT {_privilege_list(plain, suffix)} ON {on} TO "
                   f"{role}", subject=subject)
        if options_after - options_before:
            p.emit(phase, f"{prefix}GRANT {_privilege_list(options_after - options_before, suffix)}"
                   f" ON {on} TO {role} WITH GRANT OPTION", subject=subject)
        gone = held_before - held_after
        options_gone = (options_before - options_after) & held_after
        if options_gone:
            p.emit(phase, f"{prefix}REVOKE GRANT OPTION FOR "
                   f"{_privilege_list(options_gone, suffix)} ON {on} FROM {role}",
                   subject=subject)
        if gone:
            p.emit(phase, f"{prefix}REVOKE {_privilege_list(gone, suffix)} ON {on} FROM {role}",
                   *(revoke_hazards(grantee, gone) if revoke_hazards else ()), subject=subject)
        if gone or options_gone:
            revoked[grantee] = (frozenset(gone), frozenset(options_gone))
    return revoked


def _held(entry: tuple[frozenset[str], frozenset[str]] | None,
          ) -> tuple[frozenset[str], frozenset[str]]:
    """(privileges held, those with grant option) of an ACL entry, whoever granted them."""
    plain, with_option = entry or (frozenset(), frozenset())
    return plain | with_option, with_option


_ORDER = "rwadDxtmXUCcT"  # the order privileges are listed in


def _privilege_list(letters: Iterable[str], suffix: str = "") -> str:
    return ", ".join(_PRIVILEGES[letter] + suffix
                     for letter in sorted(letters, key=_ORDER.index))


def _find(objects: Iterable[Any], schema: str, name: str) -> Any:
    return next((x for x in objects if x.schema == schema and x.name == name), None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


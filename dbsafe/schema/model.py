"""Snapshot model of a database schema, and its JSON form on disk.

A `SchemaSnapshot` is a frozen, hashable picture of everything dbsafe needs to know about a
database: relations with their columns, constraints and indexes, row-producing functions,
enums, sequences, row-level security and the search path. It is built by
`dbsafe.schema.introspect` from a live database and read from or written to JSON here.

The JSON is deterministic (sorted keys, relations sorted by schema and name, columns by
position) so a committed snapshot diffs cleanly. Its last key, `sha256`, is a checksum of the
rest: a file that verifies is what dbsafe wrote, so it is decoded without the field-by-field
checks or the write-back comparison that any other file gets. `FORMAT_VERSION` changes whenever the
shape changes incompatibly; loading checks it. Format 2 (the full catalog: definitions,
triggers, types, extensions, comments, grants, owners, partitioning, ...) only added
fields with defaults to format 1, so a format-1 file still loads, with those fields empty.
Later additions to format 2 (default privileges, event triggers, collations, extended
statistics, ...) are fields with defaults too: a file written before them loads, with them empty.
The database's settings (`database_settings`) load as None from such a file: not known,
rather than none.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from dbsafe.core import SourceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_T = TypeVar("_T")

FORMAT_VERSION = 2

# A schema or publication whose comment starts so is one of dbsafe's stand-ins for a
# platform's own objects (dbsafe/migrate/supabase.sql): it holds only part of what the
# platform has there.
STAND_IN_MARK = "dbsafe stand-in"
READABLE_FORMATS = (1, 2)

RELATION_KINDS = ("table", "partitioned_table", "view", "materialized_view", "foreign_table")

# Columns every heap row has; selectable by name but absent from pg_attribute listings
# we keep. Views have none of them.
SYSTEM_COLUMNS = ("tableoid", "cmax", "xmax", "cmin", "xmin", "ctid")


def acl_role(name: str) -> str:
    """A role's name as aclitem text writes it (PostgreSQL's putid): double-quoted unless
    every character is a letter, digit or underscore."""
    return name if re.fullmatch(r"[A-Za-z0-9_]+", name) else '"' + name.replace('"', '""') + '"'


def no_privileges(owner: str) -> tuple[str, ...]:
    """The `acl` of an object whose privileges were all revoked, its owner's too: stored as
    `{}`, which is not the default privileges (NULL). It is written as the owner holding
    nothing, a valid aclitem (`app=/app`), so it differs from `()` and a `GRANT`/`REVOKE`
    plan reads it as what it is."""
    return (f"{acl_role(owner)}=/{acl_role(owner)}",)


# The suffix of the NOT NULL constraint names PostgreSQL 18 makes (ChooseConstraintName).
_MADE_NOT_NULL_NAME = re.compile(r"_not_null[0-9]*$")


# The parts of a snapshot are msgspec Structs: built in C, a tenth of a frozen dataclass's
# cost (introspection and loading make them by the hundred thousand), and decoded straight
# from the file. They hold only strings, numbers and other parts, never a cycle, so the
# garbage collector need not track them (gc=False). `SchemaSnapshot` itself, one per
# database, stays a dataclass for its private index.


def is_model(value: object) -> bool:
    """Whether `value` is a snapshot or one of its parts (not a class)."""
    return isinstance(value, msgspec.Struct) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type))


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The fields a snapshot class is built from, in order."""
    if issubclass(cls, msgspec.Struct):
        return cls.__struct_fields__
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _shared_defaults(part: msgspec.Struct) -> None:
    """Give a text field equal to its default that very default object. msgspec leaves a
    field at its default out of the file (`omit_defaults`) by identity: without this, a
    "function" read from the server or a file would be written where the class's own
    "function" is left out, and the same schema would not always give the same bytes."""
    for name, default in _text_defaults(type(part)):
        value = getattr(part, name)
        if value is not default and value == default:
            msgspec.structs.force_setattr(part, name, default)


@functools.cache
def _text_defaults(cls: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    return tuple((name, default) for name, default in _field_defaults(cls)
                 if isinstance(default, str))


def replace(obj: _T, **changes: Any) -> _T:
    """A copy of a snapshot or one of its parts with some fields changed."""
    if isinstance(obj, msgspec.Struct):
        return msgspec.structs.replace(obj, **changes)
    copy = dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    if isinstance(obj, SchemaSnapshot) and isinstance(copy, SchemaSnapshot):
        copy.mark_built_since(obj.built_since)  # the copy was built when the original was
    return copy


class Column(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str  # exact case, as stored in pg_attribute
    type: str  # format_type(atttypid, atttypmod), e.g. "character varying(20)"
    position: int  # attnum; dropped columns are skipped, so gaps are possible
    nullable: bool = True
    default: str | None = None  # pg_get_expr of the default; None when there is none
    identity: str | None = None  # "always" | "by default"
    generated: str | None = None  # "stored" | "virtual"; the default holds the expression
    # Format 2: what is rarely set, in one object that is None for an unremarkable column, so
    # a 200,000-column snapshot costs little more to build and store than in format 1.
    details: ColumnDetails | None = None

    @property
    def collation(self) -> str | None:
        return self.details.collation if self.details else None

    @property
    def storage(self) -> str | None:
        return self.details.storage if self.details else None

    @property
    def compression(self) -> str | None:
        return self.details.compression if self.details else None

    @property
    def statistics(self) -> int | None:
        return self.details.statistics if self.details else None

    @property
    def comment(self) -> str | None:
        return self.details.comment if self.details else None

    @property
    def acl(self) -> tuple[str, ...]:
        return self.details.acl if self.details else ()

    @property
    def not_null_name(self) -> str | None:
        return self.details.not_null_name if self.details else None

    @property
    def not_null_chosen_name(self) -> str | None:
        """The NOT NULL constraint's name where someone chose it: not one PostgreSQL made
        (`<table>_<column>_not_null`, a digit after it on a clash), whose table or column
        may since have been renamed. PostgreSQL finds a NOT NULL constraint by its column
        (one a column; `DROP NOT NULL`, inheritance), so a made name is no difference."""
        name = self.not_null_name
        return None if name is None or _MADE_NOT_NULL_NAME.search(name) else name

    @property
    def inherited(self) -> bool:
        return self.details.inherited if self.details else False

    @property
    def not_null_no_inherit(self) -> bool:
        return self.details.not_null_no_inherit if self.details else False

    @property
    def not_null_not_valid(self) -> bool:
        return self.details.not_null_not_valid if self.details else False


class ColumnDetails(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A column's format-2 properties; each is None when it is the type's default."""

    collation: str | None = None  # "schema"."name" of a collation other than the type's
    storage: str | None = None  # "plain" | "external" | "extended" | "main", if not the type's
    compression: str | None = None  # "pglz" | "lz4" when set on the column
    statistics: int | None = None  # attstattarget when set (SET STATISTICS)
    comment: str | None = None
    acl: tuple[str, ...] = ()  # column privileges, aclitem text, sorted
    # PostgreSQL 18's NOT NULL constraint, where it is not the plain one `SET NOT NULL`
    # makes: its name (when not `<table>_<column>_not_null`), NO INHERIT, NOT VALID.
    not_null_name: str | None = None
    not_null_no_inherit: bool = False
    not_null_not_valid: bool = False
    # Only its parents' (`attislocal` false, in a table that `INHERITS`, not a partition):
    # CREATE TABLE ... INHERITS leaves it out, or the child's copy is its own too, and
    # stays when a parent drops it.
    inherited: bool = False


class Constraint(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str
    kind: str  # "primary_key" | "unique" | "foreign_key" | "check" | "exclusion" | "not_null"
    columns: tuple[str, ...] = ()
    definition: str = ""  # pg_get_constraintdef
    validated: bool = True  # False for NOT VALID constraints
    referenced_table: str | None = None  # "schema.table" for foreign keys
    referenced_columns: tuple[str, ...] = ()
    comment: str | None = None  # format 2

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Index(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str
    definition: str  # pg_get_indexdef
    columns: tuple[str, ...] = ()  # key columns; an expression shows as its text
    unique: bool = False
    primary: bool = False
    valid: bool = True
    ready: bool = True
    predicate: str | None = None  # the WHERE of a partial index
    comment: str | None = None  # format 2
    clustered: bool = False  # CLUSTER ON: the index `CLUSTER` without one uses
    # Statistics targets of its expression columns (`ALTER INDEX ... ALTER COLUMN 1 SET
    # STATISTICS 500`), "position=target", by position.
    statistics: tuple[str, ...] = ()
    # A partition's index attached to its parent's partitioned index (pg_inherits): that
    # index's name (on the table `partition_of` names); None when not attached.
    attached_to: str | None = None


class Policy(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str
    command: str  # "ALL" | "SELECT" | "INSERT" | "UPDATE" | "DELETE"
    permissive: bool = True
    roles: tuple[str, ...] = ()
    using: str | None = None
    with_check: str | None = None
    comment: str | None = None  # format 2


class Trigger(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A trigger on a table or view (format 2); internal (constraint) triggers are left out."""

    name: str
    definition: str  # pg_get_triggerdef
    enabled: str = "origin"  # "origin" | "disabled" | "replica" | "always"
    comment: str | None = None

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Rule(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A rule on a table or view (`CREATE RULE`, format 2); a view's own `_RETURN` is its
    definition, left out."""

    name: str
    definition: str  # pg_get_ruledef: CREATE RULE name AS ON event TO relation ...;
    comment: str | None = None
    depends_on: tuple[str, ...] = ()  # "schema.name" of the other relations it reads, sorted
    # `ALTER TABLE ... DISABLE RULE` and the like (pg_rewrite.ev_enabled), as a trigger's.
    enabled: str = "origin"  # "origin" | "disabled" | "replica" | "always"


class Relation(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    schema: str
    name: str
    kind: str  # one of RELATION_KINDS
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    rls_enabled: bool = False
    rls_forced: bool = False
    policies: tuple[Policy, ...] = ()
    # Format 2.
    definition: str | None = None  # pg_get_viewdef for views and materialized views
    depends_on: tuple[str, ...] = ()  # "schema.name" of relations/functions a view reads, sorted
    triggers: tuple[Trigger, ...] = ()
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] = ()  # aclitem text, sorted; () means the default privileges
    # (`no_privileges(owner)` means none at all)
    options: tuple[str, ...] = ()  # reloptions, e.g. "fillfactor=70"
    partition_key: str | None = None  # pg_get_partkeydef, e.g. "RANGE (created_at)"
    partition_of: str | None = None  # "schema.table" of the partitioned parent
    partition_bound: str | None = None  # e.g. "FOR VALUES FROM ('2024-01-01') TO (...)"
    inherits: tuple[str, ...] = ()  # "schema.table" of parents (plain inheritance), in order
    replica_identity: str = "default"  # "default" | "nothing" | "full" | "index <name>"
    populated: bool = True  # materialized views: WITH DATA
    server: str | None = None  # foreign tables: the foreign server
    foreign_options: tuple[str, ...] = ()  # foreign tables: OPTIONS, "key=value"
    unlogged: bool = False  # UNLOGGED: not written to the WAL, emptied after a crash
    # Views and materialized views: "schema.table.column" of each column they read, sorted;
    # None where not known (a snapshot written before dbsafe read them).
    depends_on_columns: tuple[str, ...] | None = None
    rules: tuple[Rule, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def has_system_columns(self) -> bool:
        return self.kind in ("table", "partitioned_table", "materialized_view", "foreign_table")

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Argument(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str | None
    type: str
    mode: str = "in"  # "in" | "out" | "inout" | "variadic" | "table"
    has_default: bool = False

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Function(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A function that matters for name resolution: it produces rows or takes a row type.

    `result_columns` lists the columns a call in FROM produces when they are known
    (`RETURNS TABLE`, OUT parameters, `SETOF <composite>`, a composite return). For a
    function returning a scalar or `SETOF scalar` it is empty and `returns_composite` is
    False: the single output column is named after the function (or its alias).
    """

    schema: str
    name: str
    arguments: tuple[Argument, ...] = ()
    returns: str = ""  # pg_get_function_result, e.g. "TABLE(total bigint)" or "SETOF patients"
    returns_set: bool = False
    returns_composite: bool = False
    result_columns: tuple[Column, ...] = ()
    kind: str = "function"  # "function" | "aggregate" | "window" | "procedure"
    # Format 2.
    identity_arguments: str = ""  # pg_get_function_identity_arguments: the overload's identity
    # pg_get_functiondef; an aggregate's `CREATE OR REPLACE AGGREGATE` as dbsafe writes it
    # from pg_aggregate (None in snapshots of older dbsafe)
    definition: str | None = None
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] = ()

    @property
    def signature(self) -> str:
        """`schema.name(identity arguments)`: what tells overloads apart."""
        return f"{self.schema}.{self.name}({self.identity_arguments})"

    @property
    def input_arguments(self) -> tuple[Argument, ...]:
        return tuple(a for a in self.arguments if a.mode in ("in", "inout", "variadic"))

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Enum(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    schema: str
    name: str
    labels: tuple[str, ...] = ()
    owner: str | None = None  # format 2
    comment: str | None = None
    acl: tuple[str, ...] = ()


class Sequence(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    schema: str
    name: str
    data_type: str = "bigint"
    owned_by: str | None = None  # "schema.table.column" for serial/identity sequences
    # Format 2: the parameters (not the current value, which is data).
    start: int | None = None
    increment: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    cache: int | None = None
    cycle: bool = False
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _shared_defaults(self)


class DomainConstraint(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str
    definition: str  # pg_get_constraintdef, e.g. "CHECK (VALUE > 0)"
    validated: bool = True
    comment: str | None = None


class Domain(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE DOMAIN` (format 2)."""

    schema: str
    name: str
    type: str  # format_type of the base type
    nullable: bool = True
    default: str | None = None
    collation: str | None = None
    constraints: tuple[DomainConstraint, ...] = ()
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] = ()


class CompositeType(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE TYPE ... AS (...)` (format 2); attributes are `Column`s (name, type, position)."""

    schema: str
    name: str
    attributes: tuple[Column, ...] = ()
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] = ()


class Extension(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """An installed extension (format 2); the objects it owns are not in the snapshot, but
    the names of its tables and views in its schema are (`relations`: what application
    queries may read, as `pg_stat_statements`; absent from snapshots of older dbsafe), and
    of its functions there (`functions`: what a PostgREST client may call, as hstore's
    `each`; None in snapshots of older dbsafe, which did not record them), the
    extensions it requires (`requires`: created before it, dropped after it), and the
    versions `ALTER EXTENSION ... UPDATE TO` reaches from `version` on its server
    (`updates`: None where not read, by older dbsafe or without its control file)."""

    name: str
    schema: str
    version: str
    comment: str | None = None
    relations: tuple[str, ...] = ()
    functions: tuple[str, ...] | None = None
    requires: tuple[str, ...] = ()
    updates: tuple[str, ...] | None = None


class Namespace(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A schema's own properties (format 2); `SchemaSnapshot.schemas` lists the names."""

    name: str
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] = ()


class ForeignServer(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE SERVER` (format 2). User mappings are not read: they hold passwords."""

    name: str
    wrapper: str  # the foreign-data wrapper, e.g. "postgres_fdw"
    options: tuple[str, ...] = ()  # "key=value"
    owner: str | None = None
    comment: str | None = None


class Publication(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A logical-replication publication and the tables it publishes (format 2)."""

    name: str
    all_tables: bool = False
    operations: tuple[str, ...] = ("insert", "update", "delete", "truncate")
    tables: tuple[str, ...] = ()  # "schema.table", sorted
    owner: str | None = None
    comment: str | None = None
    schemas: tuple[str, ...] = ()  # FOR TABLES IN SCHEMA (PostgreSQL 15+), sorted


class DefaultPrivileges(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`ALTER DEFAULT PRIVILEGES` (format 2): the privileges objects of one type get when
    `role` creates them. Without a schema the entry holds them in every schema, in place
    of the built-in ones; with a schema it adds to those (PostgreSQL's `pg_default_acl`)."""

    role: str
    object_type: str  # "tables" | "sequences" | "functions" | "types" | "schemas" | "large objects"
    schema: str | None = None
    acl: tuple[str, ...] = ()  # aclitem text, sorted


class RangeType(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE TYPE ... AS RANGE` (format 2). Its constructor functions and its cast to its
    multirange type are its own (PostgreSQL makes and drops them with it): not read."""

    schema: str
    name: str
    subtype: str  # format_type of the subtype
    multirange: str | None = None  # `schema.name` of its multirange type (PostgreSQL 14+)
    opclass: str | None = None  # `schema.name` of the subtype's b-tree class, when not the default
    collation: str | None = None  # `schema.name`, when not the subtype's own
    canonical: str | None = None  # `schema.name` of the function
    subtype_diff: str | None = None  # `schema.name` of the function
    owner: str | None = None
    comment: str | None = None
    acl: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Cast(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE CAST` (format 2): database-wide, in no schema; PostgreSQL's own (oids below
    16384) and those an extension owns are left out, as its other objects are."""

    source: str  # format_type of the source type, as SQL writes it
    target: str
    # The function it calls (`regprocedure` text, `schema.name(argument types)`), or None
    # for one `WITHOUT FUNCTION` or `WITH INOUT`.
    function: str | None = None
    context: str = "explicit"  # "explicit" | "assignment" | "implicit"
    method: str = "function"  # "function" | "binary" (WITHOUT FUNCTION) | "inout"
    comment: str | None = None

    def __post_init__(self) -> None:
        _shared_defaults(self)


class EventTrigger(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE EVENT TRIGGER` (format 2): database-wide, in no schema. Those an extension
    owns are left out, as its other objects are."""

    name: str
    event: str  # "ddl_command_start" | "ddl_command_end" | "sql_drop" | "table_rewrite" | "login"
    # The function it executes, as SQL writes it (`schema.name()`, each part quoted where
    # it must be): an event trigger's function takes no arguments.
    function: str
    tags: tuple[str, ...] = ()  # WHEN TAG IN (...), sorted; () fires for every tag
    enabled: str = "origin"  # "origin" | "disabled" | "replica" | "always"
    owner: str | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        _shared_defaults(self)


class Collation(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`CREATE COLLATION` (format 2). Those an extension owns are left out, as its other
    objects are; its library version (`collversion`) is not a definition and is not kept."""

    schema: str
    name: str
    provider: str  # "libc" | "icu" | "builtin" (PostgreSQL 17+)
    # ICU's or builtin's locale as PostgreSQL keeps it (ICU's in its canonical form:
    # 'en-u-kn-true' is kept as 'en-u-kn'); None for libc.
    locale: str | None = None
    lc_collate: str | None = None  # libc only
    lc_ctype: str | None = None  # libc only
    deterministic: bool = True
    rules: str | None = None  # ICU tailoring rules (PostgreSQL 16+)
    owner: str | None = None
    comment: str | None = None

    @property
    def definition(self) -> str:
        """The options `CREATE COLLATION` takes to make it.

        >>> Collation("public", "ci", "icu", "und-u-ks-level2", deterministic=False).definition
        "provider = icu, locale = 'und-u-ks-level2', deterministic = false"
        """
        def text(value: str) -> str:
            return "'" + value.replace("'", "''") + "'"

        options = [f"provider = {self.provider}"]
        if self.locale is not None:
            options.append(f"locale = {text(self.locale)}")
        if self.lc_collate is not None:
            options.append(f"lc_collate = {text(self.lc_collate)}")
        if self.lc_ctype is not None:
            options.append(f"lc_ctype = {text(self.lc_ctype)}")
        if not self.deterministic:
            options.append("deterministic = false")
        if self.rules is not None:
            options.append(f"rules = {text(self.rules)}")
        return ", ".join(options)


class Statistics(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """An extended statistics object, `CREATE STATISTICS` (format 2), on one table's columns
    or expressions. What `ANALYZE` gathered for it (`pg_statistic_ext_data`) is data, not
    kept."""

    schema: str
    name: str
    table: str  # "schema.table" it is on
    definition: str  # pg_get_statisticsobjdef: CREATE STATISTICS s.name (kinds) ON ... FROM t
    target: int | None = None  # stxstattarget when set (ALTER STATISTICS ... SET STATISTICS)
    owner: str | None = None
    comment: str | None = None


class Setting(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A setting new sessions of the database start with (format 2): `ALTER DATABASE ...
    SET` (`role` None), or `ALTER ROLE role IN DATABASE ... SET` for that role's sessions
    in it. A role's own setting in every database (`ALTER ROLE ... SET`) is the server's,
    not kept."""

    name: str  # as the catalog keeps it, e.g. "search_path"
    value: str  # as pg_db_role_setting keeps it, e.g. "app, public" or "\"$user\", public"
    role: str | None = None

    @property
    def definition(self) -> str:
        """`name = value`, as a difference shows it.

        >>> Setting("search_path", "app, public").definition
        'search_path = app, public'
        """
        return f"{self.name} = {self.value}"


class FailedStatement(msgspec.Struct, frozen=True, gc=False):
    """A migration statement the throwaway server refused while this snapshot was built
    from a folder of SQL migrations (an extension the embedded PostgreSQL lacks, then what
    uses it): production has what it made, the snapshot does not, so `validate` treats what
    it names as unknown rather than missing."""

    path: str  # the migration file, relative to the project
    line: int
    column: int
    sql: str
    message: str  # PostgreSQL's, "SQLSTATE: text"


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """Everything dbsafe knows about one database's schema."""

    schemas: tuple[str, ...] = ()
    relations: tuple[Relation, ...] = ()
    functions: tuple[Function, ...] = ()
    enums: tuple[Enum, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    search_path: tuple[str, ...] = ("public",)  # current_schemas(false) of the session
    server_version: int | None = None  # server_version_num, e.g. 180001
    revision: str | None = None  # alembic revision(s) at snapshot time, "a1,b2" for several heads
    # True when `schemas` lists every user schema of the database (introspected with no
    # schema filter): a schema not in it does not exist. False for partial or older snapshots.
    covers_all_schemas: bool = False
    # Format 2.
    namespaces: tuple[Namespace, ...] = ()
    domains: tuple[Domain, ...] = ()
    composite_types: tuple[CompositeType, ...] = ()
    extensions: tuple[Extension, ...] = ()
    publications: tuple[Publication, ...] = ()
    foreign_servers: tuple[ForeignServer, ...] = ()
    default_privileges: tuple[DefaultPrivileges, ...] = ()
    event_triggers: tuple[EventTrigger, ...] = ()
    casts: tuple[Cast, ...] = ()
    range_types: tuple[RangeType, ...] = ()
    collations: tuple[Collation, ...] = ()
    # (A top-level key sorts before `sha256`, the file's last: not `statistics`.)
    extended_statistics: tuple[Statistics, ...] = ()
    # Built from SQL migrations: the statements that failed (see FailedStatement).
    failed_statements: tuple[FailedStatement, ...] = ()
    # The settings new sessions of the database start with (see Setting), by role (the
    # database's own first) and name. None where not known: a snapshot written before dbsafe
    # read them, which is never compared on them (not "no settings").
    database_settings: tuple[Setting, ...] | None = None
    _index: dict[tuple[str, str], Relation] = field(
        default=None, init=False, repr=False, compare=False, hash=False  # type: ignore[arg-type]
    )
    # Set when the canonical JSON was at hand (read from a canonical file, or written).
    _fingerprint: str | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    # When dbsafe began building the schema on a throwaway server (`built_since`): not
    # written to the snapshot's JSON, where it would change with every build.
    _built_since: datetime | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        index = {(r.schema, r.name): r for r in self.relations}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_fingerprint", None)
        object.__setattr__(self, "_built_since", None)

    @property
    def built_since(self) -> datetime | None:
        """When dbsafe began building this schema on a throwaway server (migrations applied
        there), if it was: PostgreSQL folded the moment a `'now'::timestamp` was read into
        its definitions and defaults then (`DiffOptions.built_since`)."""
        return self._built_since

    def mark_built_since(self, moment: datetime | None) -> SchemaSnapshot:
        """Record when building this snapshot began (`built_since`); returns it."""
        object.__setattr__(self, "_built_since", moment)
        return self

    def relation(self, schema: str, name: str) -> Relation | None:
        """The relation with this exact (case-sensitive) schema and name, if any."""
        return self._index.get((schema, name))

    def find_relation(self, name: str, schema: str | None = None) -> Relation | None:
        """Resolve a relation name the way PostgreSQL does: explicit schema, else search_path."""
        if schema is not None:
            return self.relation(schema, name)
        for candidate in self.search_path:
            relation = self.relation(candidate, name)
            if relation is not None:
                return relation
        return None

    def stand_in_schemas(self) -> frozenset[str]:
        """The schemas that are dbsafe's stand-ins (see STAND_IN_MARK)."""
        return frozenset(n.name for n in self.namespaces
                         if (n.comment or "").startswith(STAND_IN_MARK))

    def functions_named(self, name: str, schema: str | None = None) -> tuple[Function, ...]:
        schemas = (schema,) if schema is not None else self.search_path
        return tuple(f for f in self.functions if f.name == name and f.schema in schemas)

    def to_sqlglot(self) -> dict[str, dict[str, dict[str, str]]]:
        """{schema: {table: {column: type}}}, the shape sqlglot's MappingSchema accepts."""
        mapping: dict[str, dict[str, dict[str, str]]] = {}
        for relation in self.relations:
            tables = mapping.setdefault(relation.schema, {})
            tables[relation.name] = {c.name: c.type for c in relation.columns}
        return mapping

    # -- JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as plain data: the JSON object of its file without `sha256` (that
        checksum belongs to the file's bytes, not to the schema)."""
        data = _to_plain(self)
        data["format"] = FORMAT_VERSION
        return data

    def to_json(self) -> str:
        """Deterministic, diff-friendly JSON (sorted keys, two-space indent, final newline)."""
        return self.to_json_bytes().decode("utf-8")

    def to_json_bytes(self) -> bytes:
        """`to_json()` as UTF-8: what `save()` writes.

        Byte for byte what `json.dumps(self.to_dict() | {"sha256": checksum}, indent=2,
        sort_keys=True, ensure_ascii=False)` writes (tests/schema/test_snapshot_json.py),
        encoded by msgspec straight from the model: no dict-of-dicts copy, no
        pure-Python indenting encoder. `sha256`, the last key, is the file's checksum
        (`_layout`): a file it verifies loads without being checked field by field.
        """
        pieces: list[bytes] = []
        self._write(pieces.append)
        return b"".join(pieces)

    def _write(self, write: Callable[[bytes], object]) -> None:
        """Hand the canonical file to `write`, piece by piece: the tens of MB of a large
        schema's JSON are never held at once (`schema dump` writes them as they come)."""
        digest = hashlib.sha256()
        for _key, piece in _body_pieces(self):
            digest.update(piece)
            write(piece)
        digest.update(b"\n}\n" + _layout())
        write(_CHECKSUM_ENTRY % digest.hexdigest().encode("ascii"))

    def fingerprint(self) -> str:
        """A short hash of the schema content (ignores server version and revision).

        The hash of the canonical JSON without `sha256` (what dbsafe wrote before files
        carried a checksum, its final newline left out) with those two values blanked; free
        when the snapshot was read from a file dbsafe wrote.
        """
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for key, piece in _body_pieces(self):
                if key in _BLANKED:
                    piece = piece[:piece.index(b'": ') + 3] + b"null"
                digest.update(piece)
            digest.update(b"\n}")
            object.__setattr__(self, "_fingerprint", digest.hexdigest()[:16])
        assert self._fingerprint is not None
        return self._fingerprint

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "snapshot") -> SchemaSnapshot:
        """Build a snapshot from parsed JSON; `SourceError` names `source` on any problem."""
        if not isinstance(data, dict):
            raise SourceError(f"{source}: not a dbsafe schema snapshot (expected a JSON object)")
        version = data.get("format")
        if version not in READABLE_FORMATS:
            raise SourceError(
                f"{source}: unsupported snapshot format {version!r} (this dbsafe reads formats "
                f"{', '.join(map(str, READABLE_FORMATS))}); regenerate it with "
                "`dbsafe schema dump`"
            )
        try:
            return _from_plain(cls, {k: v for k, v in data.items()
                                     if k not in ("format", _CHECKSUM_KEY)})
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise SourceError(f"{source}: malformed snapshot: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "snapshot") -> SchemaSnapshot:
        raw = text.encode("utf-8") if isinstance(text, str) else text
        fast = _load_canonical(cls, raw)
        if fast is not None:
            return fast
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceError(f"cannot read snapshot {source}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise SourceError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def load(cls, path: Path) -> SchemaSnapshot:
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"snapshot file not found: {path}") from None
        except OSError as exc:
            raise SourceError(f"cannot read snapshot {path}: {exc}") from None
        return cls.from_json(text, source=str(path))

    def save(self, path: Path) -> None:
        """Write atomically, so an interrupted dump never leaves a truncated snapshot."""
        from dbsafe.files import replacing

        with replacing(path) as out:
            self._write(out.write)


# -- canonical JSON: the fast path ---------------------------------------------------------

# A top-level array longer than this is encoded this many items at a time.
_CHUNK = 256
# Top-level keys the fingerprint leaves out (their values blanked to null).
_BLANKED = ("revision", "server_version")
# The checksum closes every file dbsafe writes: the last top-level key (it sorts after every
# other), on its own line, always the same length.
_CHECKSUM_KEY = "sha256"
_CHECKSUM_ENTRY = b',\n  "sha256": "%s"\n}\n'
_CHECKSUM_LENGTH = len(_CHECKSUM_ENTRY % (b"0" * 64))


def _body_pieces(snapshot: SchemaSnapshot) -> Iterator[tuple[str, bytes]]:
    """The canonical JSON object without `sha256` and its closing `\\n}`, in pieces, each
    with the top-level key it belongs to.

    Each top-level value is encoded as `{key: value}` alone and formatted, which indents it
    as it is indented in the whole object; a long array goes `_CHUNK` items at a time, its
    items cut out of `{key: [items]}` at the depth they have in the file.
    """
    encode, indent = msgspec.json.encode, msgspec.json.format
    top = {name: getattr(snapshot, name) for name in field_names(SchemaSnapshot)}
    top["format"] = FORMAT_VERSION
    yield "", b"{\n"
    for i, key in enumerate(sorted(top)):
        value = top[key]
        separator = b",\n" if i else b""
        if not (isinstance(value, tuple) and len(value) > _CHUNK):
            yield key, separator + indent(encode({key: value}, order="sorted"), indent=2)[2:-2]
            continue
        head = b'  "%s": [\n' % key.encode("ascii")
        yield key, separator + head
        for start in range(0, len(value), _CHUNK):
            text = indent(encode({key: value[start:start + _CHUNK]}, order="sorted"), indent=2)
            if start:
                yield key, b",\n"
            yield key, text[2 + len(head):-len(b"\n  ]\n}")]
        yield key, b"\n  ]"


def _layout() -> bytes:
    """What a checksum hashes after the file: the snapshot model's classes with their fields'
    names and types. A file written for other fields (a newer dbsafe's) does not verify, so
    it takes the checked path, which names the fields it does not know, instead of losing
    them silently in msgspec's decode."""
    global _LAYOUT
    if _LAYOUT is None:
        classes = {SchemaSnapshot, *_NESTED.values(), *_SINGLE.values(),
                   *(owner for owner, _name in (*_NESTED, *_SINGLE))}
        lines = []
        for cls in sorted(classes, key=lambda cls: cls.__name__):
            annotations = {name: kind for klass in reversed(cls.__mro__)
                           for name, kind in vars(klass).get("__annotations__", {}).items()}
            fields = ", ".join(f"{name}: {annotations[name]}" for name in field_names(cls))
            lines.append(f"{cls.__name__}({fields})\n")
        _LAYOUT = "".join(lines).encode("utf-8")
    return _LAYOUT


_LAYOUT: bytes | None = None


def _digests(raw: bytes, stop: int, tail: bytes) -> tuple[str, str]:
    """(checksum, fingerprint) of the canonical JSON `raw[:stop] + tail` (its final newline
    left out), in one pass over the bytes they share.

    The fingerprint hashes it with the `revision` and `server_version` values blanked. Keys
    are sorted, so both are top-level lines near the end (two-space indent: nested keys have
    four or more); their values are scalars on one line. The checksum (the file's, see
    `_layout`) hashes it unchanged, its final newline, then the model's layout.
    """
    view = memoryview(raw)[:stop]  # slices without copies
    checksum = hashlib.sha256()
    fingerprint = None
    position = 0
    for key in (b'\n  "revision": ', b'\n  "server_version": '):
        start = raw.rfind(key, 0, stop)
        if start < position:
            continue
        start += len(key)
        end = raw.find(b"\n", start, stop)
        if end == -1:  # the last line before `tail`
            end = stop
        checksum.update(view[position:start])
        if fingerprint is None:
            fingerprint = checksum.copy()
        else:
            fingerprint.update(view[position:start])
        fingerprint.update(b"null," if raw[end - 1:end] == b"," else b"null")
        checksum.update(view[start:end])
        position = end
    checksum.update(view[position:])
    if fingerprint is None:
        fingerprint = checksum.copy()
    else:
        fingerprint.update(view[position:])
    checksum.update(tail + b"\n" + _layout())
    fingerprint.update(tail)
    return checksum.hexdigest(), fingerprint.hexdigest()[:16]


def _load_canonical(cls: type[SchemaSnapshot], raw: bytes) -> SchemaSnapshot | None:
    """The snapshot in `raw` if `raw` is exactly what dbsafe writes for it, else None.

    msgspec decodes straight into the model's classes (no dicts in between). It ignores keys it
    does not know and takes what the annotations allow, so the result counts only if `raw`
    is what dbsafe writes: its `sha256` checksum verifies, or (a file without one, or whose
    one does not match) writing the snapshot back gives `raw` byte for byte. Anything else
    (a format-1 or hand-edited file, an unknown field) goes through `from_dict`, which says
    what is wrong.
    """
    import gc
    import threading

    end = len(raw) - _CHECKSUM_LENGTH
    stored = raw[end + len(b',\n  "sha256": "'):end + len(b',\n  "sha256": "') + 64]
    if end > 0 and raw.endswith(_CHECKSUM_ENTRY % stored):
        stop, tail = end, b"\n}"  # the file without its checksum entry is raw[:stop] + tail
    elif raw.endswith(b"\n}\n"):
        stored, stop, tail = b"", len(raw) - 1, b""
    else:
        return None
    # Hashing releases the GIL: it runs on the other core while msgspec decodes.
    digests: list[tuple[str, str]] = []
    hasher = threading.Thread(target=lambda: digests.append(_digests(raw, stop, tail)))
    hasher.start()
    enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of new objects, no cycles among them
    try:
        snapshot = msgspec.json.decode(raw, type=cls)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    finally:
        if enabled:
            gc.enable()
        hasher.join()
    checksum, fingerprint = digests[0]
    if checksum.encode("ascii") != stored and not _written_as(snapshot, raw, stop, tail):
        # No checksum, or a stale one (the file was edited), and writing the snapshot back
        # does not give the same bytes: not canonical.
        return None
    object.__setattr__(snapshot, "_fingerprint", fingerprint)
    return snapshot


def _written_as(snapshot: SchemaSnapshot, raw: bytes, stop: int, tail: bytes) -> bool:
    """Whether writing `snapshot` (without checksum) gives `raw[:stop] + tail`, compared piece
    by piece as they are encoded: the text is never held whole, and the first difference
    ends it."""
    position = 0
    try:
        for _key, piece in _body_pieces(snapshot):
            end = position + len(piece)
            if end > stop or not raw.startswith(piece, position):  # memcmp, no copy
                return False
            position = end
    except (TypeError, ValueError, msgspec.EncodeError):
        return False
    return stop - position + len(tail) == 2 and raw[position:stop] + tail == b"\n}"


# -- plain-data conversion, driven by the model's fields ------------------------------


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, msgspec.Struct):  # a part: its fields at their defaults left out
        plain = {}
        for name, default in _field_defaults(type(obj)):
            value = getattr(obj, name)
            if default is msgspec.NODEFAULT or value != default:
                plain[name] = _to_plain(value)
        return plain
    if is_model(obj):
        return {name: _to_plain(getattr(obj, name)) for name in field_names(type(obj))}
    if isinstance(obj, tuple):
        return [_to_plain(item) for item in obj]
    return obj


@functools.cache
def _field_defaults(cls: type[msgspec.Struct]) -> tuple[tuple[str, Any], ...]:
    """(name, default or NODEFAULT) of each field of a part, in order."""
    out = []
    for info in msgspec.structs.fields(cls):
        default = info.default
        if default is msgspec.NODEFAULT and info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        out.append((info.name, default))
    return tuple(out)


_NESTED: dict[tuple[type, str], type] = {}  # a list of objects
# Lists of objects that may be null: not known.
_UNKNOWN_WHEN_NULL = frozenset({(SchemaSnapshot, "database_settings")})
_SINGLE: dict[tuple[type, str], type] = {}  # one object, or null


# The first format-2 files kept these column facts flat on the column; they load into
# `details` the same.
_FLAT_COLUMN_DETAILS = ("collation", "storage", "compression", "statistics", "comment", "acl")


def _from_plain(cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    if cls is Column and any(key in data for key in _FLAT_COLUMN_DETAILS):
        data = dict(data)
        flat = {key: data.pop(key) for key in _FLAT_COLUMN_DETAILS if key in data}
        if any(value not in (None, []) for value in flat.values()):
            data["details"] = flat
    fields = field_names(cls)
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)} in {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        nested = _NESTED.get((cls, name))
        single = _SINGLE.get((cls, name))
        if single is not None:
            kwargs[name] = None if value is None else _from_plain(single, value)
        elif nested is not None:
            if value is None and (cls, name) in _UNKNOWN_WHEN_NULL:
                kwargs[name] = None
                continue
            if not isinstance(value, list):
                raise TypeError(f"{cls.__name__}.{name} must be a list")
            kwargs[name] = tuple(_from_plain(nested, item) for item in value)
        elif isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise TypeError(f"{cls.__name__}.{name} must be a list of strings")
            kwargs[name] = tuple(value)
        elif isinstance(value, dict):
            raise TypeError(f"{cls.__name__}.{name} must not be an object")
        else:
            kwargs[name] = value
    return cls(**kwargs)


_NESTED.update(
    {
        (SchemaSnapshot, "relations"): Relation,
        (SchemaSnapshot, "functions"): Function,
        (SchemaSnapshot, "enums"): Enum,
        (SchemaSnapshot, "sequences"): Sequence,
        (Relation, "columns"): Column,
        (Relation, "constraints"): Constraint,
        (Relation, "indexes"): Index,
        (Relation, "policies"): Policy,
        (Function, "arguments"): Argument,
        (Function, "result_columns"): Column,
        (SchemaSnapshot, "namespaces"): Namespace,
        (SchemaSnapshot, "domains"): Domain,
        (SchemaSnapshot, "composite_types"): CompositeType,
        (SchemaSnapshot, "extensions"): Extension,
        (SchemaSnapshot, "publications"): Publication,
        (SchemaSnapshot, "foreign_servers"): ForeignServer,
        (SchemaSnapshot, "default_privileges"): DefaultPrivileges,
        (SchemaSnapshot, "event_triggers"): EventTrigger,
        (SchemaSnapshot, "casts"): Cast,
        (SchemaSnapshot, "range_types"): RangeType,
        (SchemaSnapshot, "collations"): Collation,
        (SchemaSnapshot, "extended_statistics"): Statistics,
        (SchemaSnapshot, "failed_statements"): FailedStatement,
        (SchemaSnapshot, "database_settings"): Setting,
        (Relation, "triggers"): Trigger,
        (Relation, "rules"): Rule,
        (Domain, "constraints"): DomainConstraint,
        (CompositeType, "attributes"): Column,
    }
)
_SINGLE.update({(Column, "details"): ColumnDetails})

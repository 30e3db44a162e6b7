"""Name resolution of application SQL against a schema snapshot (codes DBS3xx).

`resolve(sql, snapshot)` parses one PostgreSQL statement with sqlglot and walks its scopes
itself: sqlglot's `qualify` stops at the first error, never checks that tables exist and does
not look at the DML level at all, so it cannot be the validator.

The policy is **unknown means silent**. A reference is reported only when it is provably
unresolvable: every source it could come from has a fully known column set. Any source dbsafe
cannot see into (a function it does not know, a table missing from the snapshot, a system
catalog, a construct it does not model) silences the references that could come from it, and
the statement's status becomes "not_analysed" when that happened.

Statuses:

* ``analysed``: every reference was checked; the problems (possibly none) are complete.
* ``not_analysed``: at least one reference could not be checked (reason says why); the
  problems found elsewhere are still real.
* ``unparsed``: sqlglot could not parse the statement (or fell back to `exp.Command`).
* ``ignored``: a statement kind validate does not check: DDL, SET, BEGIN/COMMIT, COPY,
  SHOW, VACUUM, LOCK, ... . ``EXPLAIN <statement>`` is resolved as its inner statement; a
  ``CALL`` as the query ``SELECT <its call>``; a ``DO`` block is not analysed.

Offsets: `Problem.start`/`end` are 0-based, inclusive character offsets into `sql`, taken
from the sqlglot identifier; a quoted identifier's span includes its double quotes.

Temporary tables look like unknown tables (DBS301). Callers that see a `CREATE TEMP TABLE`
for the name in the same file should drop those findings; this module sees one statement.
"""

from __future__ import annotations

import copy
import difflib
import functools
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from dbsafe.core import first_line
from dbsafe.validate.codes import (
    COLUMN_VALUE_COUNT_MISMATCH,
    UNKNOWN_COLUMN,
    UNKNOWN_FUNCTION_CALL,
    UNKNOWN_TABLE,
    UNKNOWN_TYPE,
    identifier_at,
)

# The codes live in `codes` (importable without sqlglot, for the catalog); re-exported here.
from dbsafe.validate.codes import DYNAMIC_SQL as DYNAMIC_SQL
from dbsafe.validate.codes import RULES as RULES
from dbsafe.validate.quick import REGCLASS_FUNCTIONS, SYSTEM_SCHEMAS, checker_for
from dbsafe.validate.row_callable import ROW_CALLABLE_BUILTINS
from dbsafe.validate.syscatalog import (
    builtin_functions,
    majors_text,
    one_argument_functions,
    version_specific,
)

if TYPE_CHECKING:
    from dbsafe.schema.model import Function, Relation, SchemaSnapshot
    from dbsafe.validate.syscatalog import SystemCatalog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Problem:
    """One provably unresolvable reference in a statement."""

    code: str
    message: str
    subject: str
    start: int
    end: int
    suggestions: tuple[str, ...] = ()
    help: str | None = None
    # Set when the reference is valid from this server_version_num on (an older target
    # version rejects it): a newer server cannot confirm or refute it.
    requires_version: int | None = None
    # Set (major version) when the statement reads a system catalog whose columns were
    # taken from that version's catalog: only a server of that version can confirm it.
    catalog_version: int | None = None
    # The relations (`schema.name`, or a CTE's or alias's name) an unknown column was looked
    # for in, when more than the one its subject names, or another (`excluded.notes`: the
    # INSERT's target, whose columns EXCLUDED has); for a count of values (DBS315), the
    # relation whose columns it counted (an INSERT without a column list).
    sources: tuple[str, ...] = ()
    # The SQLSTATEs PostgreSQL refuses the statement with when not its code's own (a CALL
    # no procedure takes: 42809, 42883 or 42725, `_CALL_REFUSALS`; a count of values:
    # 42601, `_COUNT_REFUSAL`).
    sqlstates: tuple[str, ...] = ()
    # For a schema the database lacks (its subject), the relation the statement names in it
    # (`drizzle_admin.__drizzle_migrations`): one known to be made in any schema at run time
    # is unknown, not missing (`Unknown.anywhere`).
    relation: str | None = None


# What PostgreSQL refuses a list of columns given another number of values with
# (syntax_error, raised by parse analysis: pglast's parser accepts the statement).
_COUNT_REFUSAL = ("42601",)
# What PostgreSQL refuses a CALL no procedure takes with: the function it picks is no
# procedure (42809), none fits (42883), several do (42725).
_CALL_REFUSALS = ("42809", "42883", "42725")
# What PostgreSQL refuses a cast to a type it does not find with (undefined_object).
_TYPE_REFUSALS = ("42704",)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolving one statement found; see the module docstring for the statuses."""

    status: str
    problems: tuple[Problem, ...] = ()
    reason: str | None = None
    # Not analysed as another engine's: the unqualified calls (folded) of functions the
    # schema lacks (`st_astext`), which a failed `CREATE EXTENSION` may make instead
    # (`Resolver.with_callable`).
    other_engine_calls: tuple[str, ...] = ()
    # Relations (unqualified names) a string names (`setval('s', 1)`) that the schema lacks,
    # left unjudged (an extension's, or of a schema the snapshot lacks): the script's own
    # DDL may have made them (`Resolver.made`).
    unjudged_names: frozenset[str] = frozenset()


ANALYSED = "analysed"
NOT_ANALYSED = "not_analysed"
UNPARSED = "unparsed"
IGNORED = "ignored"
_CLEAN = Resolution(ANALYSED)

# Unquoted, these are SQL keywords or keyword-functions, never column references; sqlglot
# parses some of them (`user`, `current_role`, `DEFAULT` in VALUES) as columns.
_KEYWORD_NAMES = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create current_catalog current_date current_role current_schema current_time
    current_timestamp current_user default deferrable desc distinct do else end except false
    fetch for foreign from grant group having in initially intersect into lateral leading limit
    localtime localtimestamp not null offset on only or order placing primary references
    returning select session_user some symmetric system_user table then to trailing true union
    unique user using variadic when where window with""".split()
)

# sqlglot turns some built-ins into typed nodes; their PostgreSQL names.
_FUNC_NAMES: dict[type, str] = {
    exp.Explode: "unnest",
    exp.Unnest: "unnest",
    exp.ExplodingGenerateSeries: "generate_series",
    exp.GenerateSeries: "generate_series",
}
# Output column names PostgreSQL gives common unaliased aggregates.
_AGGREGATE_NAMES: dict[type, str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Min: "min",
    exp.Max: "max",
    exp.Avg: "avg",
}
# Element types of arrays whose `unnest` yields one scalar column.
_SCALAR_TYPES = frozenset(
    """text integer bigint smallint numeric uuid boolean date jsonb json real bytea
    int int2 int4 int8 float4 float8 bool varchar char citext inet cidr name oid""".split()
) | {
    "double precision",
    "character varying",
    "character",
    "timestamp with time zone",
    "timestamp without time zone",
    "time with time zone",
    "time without time zone",
    "timestamptz",
    "timestamp",
    "interval",
}

_POLYMORPHIC_TYPES = frozenset({"record", "anyelement", '"any"', "any", "anycompatible", "anynonarray"})

_UPPER_ASCII = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# A column list entry that is None stands for a column whose name dbsafe cannot know.
Columns = tuple[str | None, ...]
_UNKNOWN: Columns = (None,)


class _Exact(tuple[str | None, ...]):
    """A select list's output columns when their number is certain though a name may not
    be (`SELECT 1` is one column named by PostgreSQL, where `_UNKNOWN` is any number): an
    alias list covering them all names them all. Slicing or joining gives a plain tuple,
    which only makes `_rename` keep its doubt."""

    __slots__ = ()


_SCHEMA_KEY = "\0"  # starts the scope keys of same-named relations (`_Scope.add`)


def _schema_key(qualified: tuple[str, str]) -> str:
    return f"{_SCHEMA_KEY}{qualified[0]}.{qualified[1]}"


def _fold(identifier: exp.Identifier | str) -> str:
    """The name PostgreSQL sees: quoted names are exact, unquoted fold ASCII to lower case."""
    if isinstance(identifier, str):
        return identifier.translate(_UPPER_ASCII)
    text = identifier.this
    return text if identifier.quoted else text.translate(_UPPER_ASCII)


# -- sources and scopes ------------------------------------------------------------------


@dataclass(slots=True)
class _Source:
    """Something in FROM (or a DML target) that provides columns under an alias."""

    alias: str
    columns: Columns  # may contain None: then names outside the list may exist
    label: str  # how messages name it: relation name, CTE or alias
    subject: str  # prefix of problem subjects, e.g. "public.appointments"
    relation: Relation | None = None
    extra: frozenset[str] = frozenset()  # system columns, attribute-notation functions
    qualified_as: tuple[str, str] | None = None  # (schema, name) when not aliased
    qualifier_only: bool = False  # RETURNING's `old`/`new`: usable only as `old.col`
    reported: bool = False  # an unknown table already reported as DBS301
    # Stands for two unaliased relations of one name from different schemas (`FROM
    # auth.users JOIN public.users`, which PostgreSQL allows): `auth.users.email` finds
    # each (they are in scope under `_schema_key`), a bare `users.email` is ambiguous.
    ambiguous: bool = False
    # The relation a pseudo-relation's columns are: `excluded`'s, the INSERT's target. A
    # problem about it names the pseudo-relation (`excluded.notes`) and carries the target
    # in `Problem.sources`, so what is said of the target holds for it (`scan._made_elsewhere`).
    stands_for: _Source | None = None
    # A function's single value in FROM (`generate_series(1, 3) g`): `g.abs` may be `abs(g)`.
    one_value: bool = False

    @property
    def silences(self) -> bool:
        """Whether a reference this source might satisfy goes unchecked for an unknown reason."""
        return not self.known and not self.reported

    @property
    def known(self) -> bool:
        return None not in self.columns

    def has(self, name: str) -> bool:
        return name in self.columns or name in self.extra


@dataclass(slots=True)
class _Scope:
    sources: dict[str, _Source] = field(default_factory=dict)
    parent: _Scope | None = None
    # FROM items of this query level that this part of it cannot see: a JOIN's ON sees only
    # the two sides it joins (`FROM a, b JOIN c ON c.x = a.id` is an invalid reference).
    hidden: dict[str, _Source] = field(default_factory=dict)
    part: _Part | None = None  # which part that is, for the findings

    def add(self, source: _Source) -> None:
        existing = self.sources.get(source.alias)
        if existing is None:
            self.sources[source.alias] = source
            return
        if source.qualified_as is not None and (existing.ambiguous or (
                existing.qualified_as is not None and existing.qualified_as != source.qualified_as)):
            if not existing.ambiguous:
                assert existing.qualified_as is not None
                self.sources[_schema_key(existing.qualified_as)] = existing
                self.sources[source.alias] = _Source(source.alias, _UNKNOWN, source.alias,
                                                     source.alias, ambiguous=True)
            self.sources.setdefault(_schema_key(source.qualified_as), source)
        # Otherwise a duplicate alias is an error PostgreSQL reports itself; keep the first.

    def named(self) -> Iterator[str]:
        """The aliases in scope (not the keys of same-named relations, see `_Source`)."""
        return (alias for alias in self.sources if not alias.startswith(_SCHEMA_KEY))

    def chain(self) -> Iterator[_Scope]:
        scope: _Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent


@dataclass(slots=True)
class _Ctes:
    """CTE names visible at a point, each with its output columns."""

    names: dict[str, Columns] = field(default_factory=dict)

    def child(self) -> _Ctes:
        return _Ctes(dict(self.names))


class _Unsupported(Exception):
    """A construct dbsafe does not model: the statement is not analysed."""


# -- the resolver ------------------------------------------------------------------------


class Resolver:
    """Resolves statements against one snapshot; builds its lookup tables once."""

    def __init__(self, snapshot: SchemaSnapshot, server_version: int | None = None,
                 catalog: SystemCatalog | None = None, *, quick: bool = True) -> None:
        self.snapshot = snapshot
        # Plain statements proven clean by PostgreSQL's parser skip sqlglot (`quick`);
        # `quick=False` resolves every statement in full (the tests compare both).
        self.quick = checker_for(snapshot) if quick else None
        # pg_catalog's relations on the exact target version, else None: not checked.
        self.catalog = catalog
        # pg_catalog's functions' columns: the exact version's, else those all versions share.
        self.builtin_functions = builtin_functions(catalog)
        self.one_argument_builtins = one_argument_functions(catalog)
        # Relations extensions own are not in the snapshot; one installed into pg_catalog
        # adds relations a shipped catalog lacks.
        extensions = [e for e in snapshot.extensions if e.name != "plpgsql"]
        self.has_extensions = bool(extensions)
        # (or into information_schema, which is an ordinary schema)
        self.extended_system_schemas = frozenset(
            e.schema for e in extensions if e.schema in ("pg_catalog", "information_schema"))
        self.extension_relations = frozenset((e.schema, r) for e in extensions
                                             for r in e.relations)
        # The rules of this PostgreSQL version apply (target-version, else the snapshot's).
        self.server_version = server_version or snapshot.server_version
        self.search_path = tuple(snapshot.search_path)
        self.schemas = frozenset(snapshot.schemas) | {r.schema for r in snapshot.relations}
        self.sequences = frozenset((s.schema, s.name) for s in snapshot.sequences)
        self._functions: dict[tuple[str, str], list[Function]] = {}
        for function in snapshot.functions:
            self._functions.setdefault((function.schema, function.name), []).append(function)
        self._row_functions: dict[tuple[str, str], frozenset[str]] = {}
        self._suggestions: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
        self._relation_names: dict[tuple[str, ...], _NameIndex] = {}
        self._resolved: dict[str, Resolution] = {}
        # Relations (unqualified, folded names) a script created or altered before the
        # statement: their columns are what the script made them, not the snapshot's.
        self.made: frozenset[str] = frozenset()
        # Whether an unqualified function of this (folded) name the schema lacks may exist
        # (`with_callable`): its call is PostgreSQL's, not another engine's built-in.
        self.callable: Callable[[str], bool] | None = None
        self._other_classes: frozenset[tuple[str, str]] | None = None
        self.row_callable = ROW_CALLABLE_BUILTINS | {
            f.name
            for f in snapshot.functions
            if len(f.input_arguments) == 1 and f.input_arguments[0].type in _POLYMORPHIC_TYPES
        }

    # -- catalog lookups ---------------------------------------------------------------

    def relation_named(self, name: str, schema: str | None) -> bool:
        """Whether `[schema.]name` is anything of pg_class a regclass string may name: a
        relation, sequence, index or composite type."""
        if self.snapshot.find_relation(name, schema) is not None or self.sequence(name, schema):
            return True
        if self._other_classes is None:
            self._other_classes = frozenset(
                [(r.schema, i.name) for r in self.snapshot.relations for i in r.indexes]
                + [(t.schema, t.name) for t in self.snapshot.composite_types])
        return any((candidate, name) in self._other_classes
                   for candidate in ((schema,) if schema is not None else self.search_path))

    def type_fields(self, type_name: str) -> tuple[str, ...] | None:
        """The fields of a composite type, or of a table's row type, as the snapshot spells
        the type of a column (unqualified when on its search path); None for any other
        type, an array, or a quoted name."""
        if '"' in type_name or "[" in type_name or "(" in type_name:
            return None
        schema, _, name = type_name.rpartition(".")
        for candidate in (schema,) if schema else self.snapshot.search_path:
            for composite in self.snapshot.composite_types:
                if (composite.schema, composite.name) == (candidate, name):
                    return tuple(a.name for a in composite.attributes)
            relation = self.snapshot.find_relation(name, candidate)
            if relation is not None:
                return tuple(c.name for c in relation.columns)
        return None

    def extension_relation(self, name: str, schema: str | None) -> bool:
        """Whether `[schema.]name` is a relation an extension owns (its columns are not in
        the snapshot)."""
        return any((candidate, name) in self.extension_relations
                   for candidate in ((schema,) if schema is not None else self.search_path))

    def callable_on_one_argument(self, name: str) -> bool:
        """Whether a function `name` of one argument exists (any schema, any type)."""
        return any(f.name == name and len(f.input_arguments) == 1
                   for f in self.snapshot.functions)

    def callable_on_a_value(self, name: str) -> bool:
        """Whether `name(v)` may exist for a value `v`: a built-in or a snapshot function."""
        return name in self.one_argument_builtins or self.callable_on_one_argument(name)

    def sequence(self, name: str, schema: str | None) -> tuple[str, str] | None:
        """The (schema, name) of a sequence as `FROM name` finds it, if it is one."""
        for candidate in (schema,) if schema is not None else self.search_path:
            if (candidate, name) in self.sequences:
                return (candidate, name)
        return None

    def functions(self, name: str, schema: str | None) -> list[Function]:
        schemas = (schema,) if schema is not None else self.search_path
        found: list[Function] = []
        for candidate in schemas:
            found.extend(self._functions.get((candidate, name), ()))
        return found

    def row_functions(self, relation: Relation) -> frozenset[str]:
        """Functions callable in attribute notation on a row of `relation` (`p.label`)."""
        key = (relation.schema, relation.name)
        cached = self._row_functions.get(key)
        if cached is None:
            cached = frozenset(
                f.name
                for f in self.snapshot.functions
                if len(f.input_arguments) == 1
                and _type_names_relation(f.input_arguments[0].type, relation)
            )
            self._row_functions[key] = cached
        return cached

    def table_suggestions(self, name: str, schemas: tuple[str, ...]) -> tuple[str, ...]:
        """Relations a misspelt `name` may mean: the same name elsewhere, then close names.

        Memoised: a finding-heavy run asks for the same few misspellings again and again,
        and each answer scans every relation of the schemas.
        """
        key = (name, schemas)
        cached = self._suggestions.get(key)
        if cached is None:
            index = self._relation_names.get(schemas)
            if index is None:
                index = _NameIndex(r.name for r in self.snapshot.relations if r.schema in schemas)
                self._relation_names[schemas] = index
            elsewhere = tuple(f"{s}.{name}" for s in sorted(self.schemas)
                              if s not in schemas and self.snapshot.relation(s, name))
            cached = (elsewhere + index.suggest(name))[:3]
            self._suggestions[key] = cached
        return cached

    def relation_source(self, relation: Relation, alias: str | None) -> _Source:
        extra = self.row_functions(relation)
        if relation.has_system_columns:
            extra = extra | _SYSTEM_COLUMN_SET
        return _Source(
            alias=alias or relation.name,
            columns=tuple(c.name for c in relation.columns),
            label=relation.name,
            subject=relation.qualified_name,
            relation=relation,
            extra=extra,
            qualified_as=None if alias else (relation.schema, relation.name),
        )

    def catalog_source(self, name: str, schema: str | None, alias: str | None) -> _Source | None:
        """A relation of `pg_catalog` as `FROM [pg_catalog.]name` finds it, or of
        `information_schema` as `FROM information_schema.name` does, if known."""
        if self.catalog is None or schema not in (None, "pg_catalog", "information_schema"):
            return None
        if schema is None and "pg_catalog" in self.search_path[1:]:
            return None  # searched after other schemas: the name may be someone else's
        schema = schema or "pg_catalog"
        entry = (self.catalog.relations_of(schema) or {}).get(name)
        if entry is None:
            return None
        columns, system = entry
        # the schema's functions taking its row (`c.f` is `f(c)`)
        row_types = ([name], [schema, name]) if schema == "pg_catalog" else ([schema, name],)
        extra = frozenset(
            f.name for f in self.snapshot.functions
            if len(f.input_arguments) == 1
            and [p.strip('"') for p in f.input_arguments[0].type.split(".")][-2:] in row_types)
        # (`columns`, `tables` alone would read as the application's own)
        label = name if schema == "pg_catalog" else f"{schema}.{name}"
        return _Source(
            alias=alias or name, columns=columns, label=label, subject=f"{schema}.{name}",
            extra=extra | _SYSTEM_COLUMN_SET if system else extra,
            qualified_as=None if alias else (schema, name),
        )

    def catalog_searched_first(self, schema: str | None) -> bool:
        """Whether `[schema.]name` is looked up in a system schema whose every relation is
        known before anywhere else: qualified with `pg_catalog` or `information_schema`, or
        unqualified while the search path leaves `pg_catalog` implicit (searched first) or
        names it first."""
        if (self.catalog is None or not self.catalog.exact
                or (schema or "pg_catalog") in self.extended_system_schemas):
            return False  # (every shipped version's at once: a name none has is not judged)
        if schema is not None:
            return self.catalog.relations_of(schema) is not None
        return "pg_catalog" not in self.search_path[1:]

    def with_made(self, relations: frozenset[str]) -> Resolver:
        """This resolver for statements that run after DDL creating or altering `relations`
        (unqualified names): their columns, and what a subquery or CTE takes from them, are
        unknown. Shares the lookup tables; resolves without the quick check.

        >>> from dbsafe.schema.model import Column, Relation, SchemaSnapshot
        >>> b = Relation("public", "b", "table", (Column("id", "integer", False),))
        >>> plain = Resolver(SchemaSnapshot(relations=(b,)))
        >>> [p.subject for p in plain.resolve("SELECT s.note FROM (SELECT * FROM b) s").problems]
        ['s.note']
        >>> plain.with_made(frozenset({"b"})).resolve("SELECT s.note FROM (SELECT * FROM b) s").problems
        ()
        """
        made = copy.copy(self)
        made.made, made.quick, made._resolved = relations, None, {}
        return made

    def with_callable(self, theirs: Callable[[str], bool]) -> Resolver:
        """This resolver where functions the schema lacks may exist: an unqualified call
        of a name `theirs` holds for (a function an extension that failed to install makes,
        PostGIS's `st_astext`, a name MySQL's built-ins share; one a failed statement or the
        script's own DDL makes) is checked as PostgreSQL's (a DBS314 the caller knows to be
        unknown), not taken for another engine's built-in. Shares the lookup tables.

        >>> from dbsafe.schema.model import SchemaSnapshot
        >>> plain = Resolver(SchemaSnapshot())
        >>> plain.resolve("SELECT ST_AsText(g) FROM (SELECT 1 AS g) s").reason[:36]
        'calls `st_astext`, a built-in functi'
        >>> postgis = plain.with_callable(lambda name: name.startswith("st_"))
        >>> [p.subject for p in postgis.resolve("SELECT ST_AsText(g) FROM (SELECT 1 AS g) s").problems]
        ['st_astext']
        """
        variant = copy.copy(self)
        variant.callable, variant._resolved = theirs, {}
        return variant

    # -- entry point -------------------------------------------------------------------

    def resolve(self, sql: str, *, quick: bool = True) -> Resolution:
        """`quick=False`: the caller has just run the quick check on `sql` (it said "not
        sure"), so it is not run a second time."""
        # Applications repeat statements (the same query in several functions and files):
        # each distinct one is resolved once per process.
        known = self._resolved.get(sql)
        if known is not None:
            return known
        if quick and self.quick is not None and self.quick.clean(sql):
            resolution = _CLEAN
        else:
            resolution = self._resolve_with_sqlglot(sql)
        if resolution.status == UNPARSED and not resolution.problems and \
                resolution.reason != _TEMPLATE:  # a template's names are not yet filled in
            resolution = self._relations_by_postgresql(sql, resolution.reason) or resolution
        elif resolution.problems or (resolution.reason or "").startswith(_FAILED):
            # A statement dbsafe failed on may be one PostgreSQL rejects (`FROM users %s`,
            # a placeholder where a name belongs): then that is what it is.
            resolution = _named_by_postgresql(sql, resolution)
        if resolution.status in (ANALYSED, NOT_ANALYSED):
            resolution = self._with_missing_calls(sql, resolution)
        if resolution.status in (ANALYSED, NOT_ANALYSED):
            resolution = self._with_missing_types(sql, resolution)
        if len(self._resolved) < _RESOLVED_SIZE:
            self._resolved[sql] = resolution
        return resolution

    def _with_missing_calls(self, sql: str, resolution: Resolution) -> Resolution:
        """`resolution` and the calls of functions the schema lacks (DBS314, `calls`), then
        the lists of columns given another number of values (DBS315), unless the statement
        is another engine's."""
        from dbsafe.validate.calls import missing_calls, other_engine_call

        try:
            calls = missing_calls(sql, self.snapshot)
        except Exception:  # a pglast bug: the calls stay unchecked
            log.debug("reading the calls of %r failed", sql, exc_info=True)
            return resolution
        if not calls:
            return self._with_count_mismatches(sql, resolution)
        # (a count no overload takes of a SQLite or MySQL built-in's name, `date_format(d,
        # '%Y')` beside a one-argument shim, is that engine's call too)
        theirs = self.callable
        engine_calls = [c for c in calls if (c.refusal is None or not c.refusal.procedure)
                        and not (theirs is not None and c.schema is None
                                 and theirs(c.name.lower()))]
        other_engine = other_engine_call(engine_calls)
        if other_engine is not None:
            # SQLite's `datetime('now')`: sent elsewhere, its names are that engine's (as
            # for a statement reading `sqlite_master`)
            return Resolution(NOT_ANALYSED, reason=other_engine, other_engine_calls=tuple(
                c.name.lower() for c in engine_calls if c.schema is None))
        problems = tuple(Problem(
            UNKNOWN_FUNCTION_CALL.code, message,
            f"{call.schema}.{call.name}" if call.schema else call.name, call.start, call.end,
            help=help_text,
            sqlstates=_CALL_REFUSALS if call.refusal and call.refusal.procedure else ())
            for call in calls for message, help_text in [call.described()])
        return self._with_count_mismatches(
            sql, replace(resolution, problems=resolution.problems + problems))

    def _with_count_mismatches(self, sql: str, resolution: Resolution) -> Resolution:
        """`resolution` and the lists of columns given another number of values (DBS315,
        `counts`), read from PostgreSQL's parse of `sql`."""
        from dbsafe.validate.confirm import parse_as_sent
        from dbsafe.validate.counts import count_mismatches, has_counts

        try:
            parsed = parse_as_sent(sql)
            if parsed.text is None or not has_counts(parsed.text):
                return resolution
            statements = [s.get("stmt", {}) for s in json.loads(parsed.text).get("stmts", [])]
            found = count_mismatches(statements, sql, parsed.sent, self.snapshot, self.made)
        except Exception:  # a pglast bug: the counts stay unchecked, the run goes on
            log.debug("counting the values of %r failed", sql, exc_info=True)
            return resolution
        if not found:
            return resolution
        problems = tuple(Problem(
            COLUMN_VALUE_COUNT_MISMATCH.code, m.message, m.subject, m.start, m.end,
            help=m.help, sources=(m.counted,) if m.counted else (), sqlstates=_COUNT_REFUSAL)
            for m in found)
        return replace(resolution, problems=resolution.problems + problems)

    def _with_missing_types(self, sql: str, resolution: Resolution) -> Resolution:
        """`resolution` and the casts to types the schema lacks (DBS316, `casts`)."""
        from dbsafe.validate.casts import missing_types

        try:
            uses = missing_types(sql, self.snapshot)
        except Exception:  # a pglast bug: the casts stay unchecked
            log.debug("reading the casts of %r failed", sql, exc_info=True)
            return resolution
        if not uses:
            return resolution
        problems = tuple(Problem(
            UNKNOWN_TYPE.code, message,
            f"{use.schema}.{use.name}" if use.schema else use.name, use.start, use.end,
            help=help_text, sqlstates=_TYPE_REFUSALS)
            for use in uses for message, help_text in [use.described()])
        return replace(resolution, problems=resolution.problems + problems)

    def _relations_by_postgresql(self, sql: str, reason: str | None) -> Resolution | None:
        """Check the relations a statement names when only PostgreSQL's grammar reads it.

        sqlglot rejects some valid PostgreSQL (`?#`, `<<|`, `WHERE CURRENT OF`, ...); its
        tables are still checked, with the parser PostgreSQL runs (pglast), so the statement
        is not dropped whole. Columns stay unchecked: the status remains "unparsed".
        """
        try:
            utility = _utility_statement(sql)
            relations = None if utility else _named_relations(sql)
        except Exception:  # a statement PostgreSQL rejects, or a pglast bug
            log.debug("pglast could not read %r", sql, exc_info=True)
            return None
        if utility:
            return Resolution(IGNORED, reason=f"{utility} statements are not checked")
        if relations is None:
            return None
        run = _Run(self, 0)
        for table in relations:
            run.table(table, _Ctes())
        return Resolution(UNPARSED, tuple(run.problems),
                          reason=f"{reason}; its tables were checked with PostgreSQL's parser, "
                                 "its columns were not")

    def _resolve_with_sqlglot(self, sql: str) -> Resolution:
        try:
            statements = [s for s in parse_postgres(sql) if s is not None]
        except SqlglotError as exc:
            if _braces_outside_quotes(sql):
                return Resolution(UNPARSED, reason=_TEMPLATE)
            return Resolution(UNPARSED, reason=f"sqlglot could not parse it: {first_line(exc)}")
        except RecursionError:
            return Resolution(UNPARSED, reason="statement too deeply nested to parse")
        except Exception as exc:
            # sqlglot raises plain TypeErrors and friends on some valid PostgreSQL (`?#`):
            # one statement must never end the run.
            log.debug("sqlglot failed on %r", sql, exc_info=True)
            return Resolution(UNPARSED, reason=f"sqlglot failed on it: {_internal(exc)}")
        if not statements:
            return Resolution(IGNORED, reason="empty statement")
        if _braces_outside_quotes(sql):
            return Resolution(UNPARSED, reason=_TEMPLATE)
        resolution = _combine([self._resolve_guarded(sql, statement) for statement in statements])
        if resolution.status != IGNORED and _braces_in_quoted_identifier(sql):
            return Resolution(UNPARSED, reason=_TEMPLATE)
        return resolution

    def _resolve_guarded(self, sql: str, statement: exp.Expr) -> Resolution:
        try:
            return self._resolve_statement(sql, statement, 0)
        except Exception as exc:
            log.debug("resolving %r failed", sql, exc_info=True)
            return Resolution(NOT_ANALYSED, reason=f"{_FAILED}{_internal(exc)}")

    def _resolve_statement(self, sql: str, statement: exp.Expr, offset: int, *,
                           inner: bool = False) -> Resolution:
        """`inner`: the statement of an EXPLAIN, DECLARE or PREPARE, which is never a
        subquery of another query (`PREPARE q AS (SELECT ...)`)."""
        if isinstance(statement, exp.Command):
            return self._resolve_command(sql, statement)
        if not isinstance(statement, _CHECKED_STATEMENTS):
            if isinstance(statement, _UTILITY_STATEMENTS):
                return Resolution(IGNORED, reason=f"{type(statement).__name__} statements are not checked")
            # sqlglot reads some garbage ("SELEKT * FRM t") as a bare expression: that is
            # not a statement PostgreSQL would accept, so it was not understood.
            return Resolution(UNPARSED, reason="not a statement sqlglot recognises")
        run = _Run(self, offset, sql)
        try:
            run.statement(statement, None if inner else _embedding_scope(statement), _Ctes())
        except _Unsupported as exc:
            return Resolution(NOT_ANALYSED, tuple(run.problems), reason=str(exc))
        except RecursionError:
            return Resolution(NOT_ANALYSED, tuple(run.problems), reason="statement too deeply nested")
        if run.sqlite_catalog is not None:
            return Resolution(NOT_ANALYSED, reason=f"reads `{run.sqlite_catalog}`, SQLite's "
                              "catalog: SQL for SQLite, not PostgreSQL")
        if run.s3_select:
            return Resolution(NOT_ANALYSED, reason=f"reads `{_S3_SELECT_OBJECT}`, the object "
                              "Amazon S3 Select queries: SQL for S3 Select, not PostgreSQL")
        if run.oracle_dictionary is not None:
            return Resolution(NOT_ANALYSED, reason=f"reads `{run.oracle_dictionary}`, "
                              "Oracle's data dictionary: SQL for Oracle, not PostgreSQL")
        if run.silenced:
            return Resolution(NOT_ANALYSED, tuple(run.problems), reason=run.silenced[0],
                              unjudged_names=frozenset(run.unjudged_names))
        return Resolution(ANALYSED, tuple(run.problems))

    def _resolve_command(self, sql: str, command: exp.Command) -> Resolution:
        keyword = str(command.this or "").upper()
        if keyword == "EXPLAIN":
            return self._resolve_explain(sql)
        if keyword == "DECLARE":
            offset = _cursor_query_offset(sql)
            if offset is not None:
                return self._resolve_inner(sql, offset, "the cursor's query")
        if keyword == "PREPARE":
            offset = prepared_statement_offset(sql)
            if offset is not None:
                return self._resolve_inner(sql, offset, "the prepared statement")
        if keyword == "CALL":
            return self._resolve_call(sql)
        if keyword == "DO":
            # Its body is PL/pgSQL, whose statements read the block's variables: not checked,
            # and said so (only what a script's DO block creates is read: `file_ddl`).
            return Resolution(NOT_ANALYSED, reason="a DO block's body is PL/pgSQL, which "
                                                   "validate does not check")
        if keyword in _IGNORED_COMMANDS:
            return Resolution(IGNORED, reason=f"{keyword} statements are not checked")
        return Resolution(UNPARSED, reason="sqlglot does not understand this statement")

    def _resolve_call(self, sql: str) -> Resolution:
        """`CALL proc(arguments)`: its arguments resolved as the query `SELECT proc(arguments)`,
        over no relation, as PostgreSQL reads them (no subquery may appear in them); whether
        the procedure exists is `calls`' (DBS314, as for any call)."""
        start = called_offset(sql)
        if start is None:
            return Resolution(UNPARSED, reason="cannot find the procedure CALL calls")
        query = CALL_AS_QUERY + sql[start:]
        statements = _parsed_alone(query)
        if isinstance(statements, Resolution):
            # sqlglot reads no `lower()` (its Lower needs an argument), but which procedure
            # the CALL reaches is read with PostgreSQL's parser (`calls`): checked still
            # (`CALL lower()`: 42883), its arguments' columns not
            return _call_unread(sql, statements)
        if len(statements) != 1 or not isinstance(statements[0], exp.Select):
            return Resolution(UNPARSED, reason="sqlglot does not understand the CALL")
        return self._resolve_statement(query, statements[0], start - len(CALL_AS_QUERY),
                                       inner=True)

    def _resolve_explain(self, sql: str) -> Resolution:
        """Resolve the statement after `EXPLAIN [ANALYZE] [VERBOSE] [(options)]`."""
        offset = _explained_statement_offset(sql)
        if offset is None:
            return Resolution(UNPARSED, reason="cannot find the statement EXPLAIN explains")
        return self._resolve_inner(sql, offset, "the explained statement")

    def _resolve_inner(self, sql: str, offset: int, what: str) -> Resolution:
        """Resolve the statement at `offset` of a command sqlglot does not parse whole."""
        inner = sql[offset:]
        statements = _parsed_alone(inner)
        if isinstance(statements, Resolution):
            return statements
        if len(statements) != 1 or isinstance(statements[0], exp.Command):
            return Resolution(UNPARSED, reason=f"sqlglot does not understand {what}")
        return self._resolve_statement(inner, statements[0], offset, inner=True)


def _embedding_scope(statement: exp.Expr) -> _Scope | None:
    """The query a statement that is one parenthesised query is written to be embedded in.

    `(SELECT q.id FROM qr q WHERE q.asset_id = a.id LIMIT 1)` alone is a statement PostgreSQL
    accepts, but nobody runs it as one: it is a subquery an application builds to put in a
    query it makes elsewhere (`Prisma.sql`, a `sql` fragment, a string constant), whose
    aliases and columns (`a.id`) are unknown here. What the subquery names itself is still
    checked. A parenthesised query followed by more (`(...) UNION (...)`, `(...) ORDER BY x`)
    is a whole statement: no such scope.
    """
    if not isinstance(statement, exp.Subquery) or any(
            value for key, value in statement.args.items() if key != "this"):
        return None
    embedding = _Source("?embedding", _UNKNOWN, "the query it is embedded in", "?embedding")
    return _Scope({embedding.alias: embedding})


# PostgreSQL's grammar has no braces outside quotes and comments; sqlglot reads `{x}` as a
# struct literal (DuckDB's) whose `x` would be taken for a column. Such text is a template
# (str.format, Jinja, a placeholder replaced before sending), not the statement that runs.
# So is one with braces in a quoted identifier: `FROM "{0}"` quotes the name `.format()`
# puts there, no relation is called `{0}`. Braces in string literals are values (`'{a,b}'`).
_FAILED = "dbsafe failed on it: "
_TEMPLATE = "braces outside quotes: a template filled in before it runs, not SQL as written"


def _braces_outside_quotes(sql: str) -> bool:
    return any(token.token_type in _BRACES for token in _brace_tokens(sql))


def _braces_in_quoted_identifier(sql: str) -> bool:
    return any(token.token_type == sqlglot.TokenType.IDENTIFIER and (
        "{" in token.text or "}" in token.text) for token in _brace_tokens(sql))


def _brace_tokens(sql: str) -> list[sqlglot.tokens.Token]:
    """The tokens of a statement holding a brace anywhere, else none (not tokenized)."""
    if "{" not in sql and "}" not in sql:
        return []
    if _last_parse is not None and _last_parse[0] == sql:
        return _last_parse[1]
    try:
        return tokenize_postgres(sql)
    except SqlglotError:
        return []


# `{`, `}`, and Jinja's `{%`, `%}` (sqlglot reads its blocks as tokens of their own).
_BRACES = frozenset({sqlglot.TokenType.L_BRACE, sqlglot.TokenType.R_BRACE,
                     sqlglot.TokenType.BLOCK_START, sqlglot.TokenType.BLOCK_END})


def parse_postgres(sql: str) -> list[exp.Expr | None]:
    """`sqlglot.parse(sql, read="postgres")`, with one tokenizer and one parser for every
    statement: `sqlglot.parse` looks the dialect up and builds both per call, which cost a
    third of the parse on the short statements applications run.

    >>> [e.sql() for e in parse_postgres("SELECT 1; SELECT a FROM t")]
    ['SELECT 1', 'SELECT a FROM t']
    """
    global _last_parse
    parser = _postgres()[1]
    tokens = tokenize_postgres(sql)
    try:
        trees = _parse_overloads_as_calls(parser, _as_parsed(tokens), sql)
    except SqlglotError:
        raise
    except Exception:
        _operand_placeholders_error(parser, tokens, sql)
        raise
    _last_parse = (sql, tokens, trees)
    return trees


# sqlglot builds a function it knows with its own signature and refuses a call given more
# arguments; PostgreSQL picks among every function of the name, the database's own overloads
# too: Liberapay's `sum(currency_amount, currency)` aggregate, `SELECT sum(amount,
# %(currency)s) FROM our_tips` (9 of its statements were "unparsed", nothing in them checked).
_TOO_MANY_ARGUMENTS = "is greater than the maximum number of supported arguments"
# A statement rarely calls more than a few such overloads; each one costs a parse.
_MAX_OVERLOADS = 8


def _parse_overloads_as_calls(parser: sqlglot.parser.Parser, tokens: list[sqlglot.tokens.Token],
                              sql: str) -> list[exp.Expr | None]:
    """`parser.parse(tokens, sql)`, a call of a known function with more arguments than
    sqlglot's signature of it read as a call of a function of that name (`exp.Anonymous`),
    as PostgreSQL reads it: the comment `sqlglot.anonymous` on its closing parenthesis,
    where sqlglot's error points, asks sqlglot for that. Every other error stands.

    >>> [e.sql() for e in _parse_overloads_as_calls(
    ...     _postgres()[1], tokenize_postgres("SELECT sum(x, 'EUR') FROM t"), "")]
    ["SELECT SUM(x, 'EUR') /* sqlglot.anonymous */ FROM t"]
    """
    for _ in range(_MAX_OVERLOADS):
        try:
            return _named_back(parser.parse(tokens, sql), sql)
        except ParseError as exc:
            error = exc.errors[0] if exc.errors else {}
            if _TOO_MANY_ARGUMENTS not in str(error.get("description", "")):
                raise
            at = next((i for i, t in enumerate(tokens)
                       if t.token_type == sqlglot.TokenType.R_PAREN
                       and (t.line, t.col) == (error.get("line"), error.get("col"))), None)
            if at is None:
                raise
            paren = tokens[at]
            tokens = [*tokens[:at], sqlglot.tokens.Token(
                paren.token_type, paren.text, paren.line, paren.col, paren.start, paren.end,
                [*paren.comments, exp.SQLGLOT_ANONYMOUS]), *tokens[at + 1:]]
    return _named_back(parser.parse(tokens, sql), sql)


def _operand_placeholders_error(parser: sqlglot.parser.Parser, tokens: list[sqlglot.tokens.Token],
                                sql: str) -> None:
    """Raise sqlglot's syntax error for `sql` read with its `?` as values, if it has one.

    sqlglot reads a `?` right after an operand as jsonb's key-exists operator, and its
    compiled build raises a TypeError, not a ParseError, when nothing operand-like follows:
    knex's `status_code_series ?)` (a binding: knex sends `status_code_series $3)`, 42601).
    Read with each `?` as the value a driver binds there, such a statement is a syntax error
    at its place, as PostgreSQL says. Where PostgreSQL's parser reads the statement as
    written (valid PostgreSQL sqlglot fails on, `a ?# b`: its tables are then checked with
    PostgreSQL's parser), where it has no `?`, or where it reads with its `?` as values, the
    caller's exception stands.

    >>> parse_postgres("SELECT 1 FROM t WHERE a ?) AS b")
    Traceback (most recent call last):
    ...
    sqlglot.errors.ParseError: Invalid expression / Unexpected token. Line 1, Col: 25.
    ...
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    if not any(t.token_type == kind.PLACEHOLDER and t.text == "?" for t in tokens):
        return
    from pglast.parser import parse_sql_json

    try:
        parse_sql_json(sql)
        return
    except Exception:  # noqa: BLE001 - a syntax error (or a pglast bug): not valid as written
        pass
    values = [Token(kind.NUMBER, "0", t.line, t.col, t.start, t.end, t.comments)
              if t.token_type == kind.PLACEHOLDER and t.text == "?" else t for t in tokens]
    try:
        parser.parse(_as_parsed(values), sql)
    except SqlglotError:
        raise
    except Exception:  # noqa: BLE001 - sqlglot fails on it either way: the first error stands
        return


def _as_parsed(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` as the parser is given them: placeholders named by keywords read as names,
    rows bound to `VALUES` read as rows, and PostgreSQL's grammar where sqlglot's is another
    database's (`_qualified_keyword_calls`, `_object_identifier_arrays`, `_convert_calls`).

    sqlglot's parsers are compiled (sqlglotc) and take no subclass, so a dialect of our own
    cannot change them: what PostgreSQL reads otherwise is given to the parser as tokens it
    reads so, each at its own position."""
    return _rows_bound_to_values(_keyword_placeholders(_is_calls(_convert_calls(
        _object_identifier_arrays(_qualified_keyword_calls(tokens))))))


def _qualified_keyword_calls(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with a keyword right after a `.` and right before `(` read as a name.

    A function qualified by its schema may be named by any keyword in PostgreSQL's grammar
    (`func_name: ColId indirection`, whose last part is any keyword): pgmq's `SELECT * FROM
    pgmq.delete(%s, %s)` and `FROM pgmq.create(NULL)`. sqlglot read `pgmq.delete(1)` in FROM
    as a table `pgmq.delete` with a list of column aliases, and refused `pgmq.create(...)`:
    either way nothing in the statement was checked. After a `.`, PostgreSQL reads any word
    as a name (`ColLabel`), so the word is given the type of a name, at its own position.

    >>> [t.token_type.name for t in _qualified_keyword_calls(tokenize_postgres(
    ...     "SELECT * FROM q.delete(1)"))][3:7]
    ['VAR', 'DOT', 'VAR', 'L_PAREN']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    if not any(t.token_type == kind.DOT for t in tokens):
        return tokens
    out = list(tokens)
    for i in range(1, len(out) - 1):
        word = out[i]
        if (out[i - 1].token_type == kind.DOT and out[i + 1].token_type == kind.L_PAREN
                and word.token_type not in (kind.VAR, kind.IDENTIFIER)
                and (word.text[:1].isalpha() or word.text[:1] == "_")
                and all(c.isalnum() or c in "_$" for c in word.text)):
            out[i] = Token(kind.VAR, word.text, word.line, word.col, word.start, word.end,
                           word.comments)
    return out


# The type tokens sqlglot builds a type of without reading an array suffix after them.
_BARE_TYPE_TOKENS = frozenset({sqlglot.TokenType.OBJECT_IDENTIFIER,
                               sqlglot.TokenType.PSEUDO_TYPE})


def _object_identifier_arrays(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with an array of an object identifier type (`oid[]`, `regclass[]`, ...) or
    of `cstring` read as the array type it is, by its name in `pg_catalog`, where PostgreSQL
    finds it.

    sqlglot builds `oid` and `regclass` as types of their own before it reads `[]`, and then
    reads the `[]` as an empty subscript and refuses the statement: pgai's `where p.oid =
    any(%s::oid[])`, whose columns were never checked. Written `pg_catalog.oid`, the type is
    one sqlglot reads an array of. The two tokens added sit at the type's own position, so
    every other token keeps its place; an already qualified name is left as it is.

    >>> [t.text for t in _object_identifier_arrays(tokenize_postgres("x::oid[]"))]
    ['x', '::', 'pg_catalog', '.', 'oid', '[', ']']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    if not any(t.token_type in _BARE_TYPE_TOKENS for t in tokens):
        return tokens
    out: list[sqlglot.tokens.Token] = []
    for i, t in enumerate(tokens):
        if (t.token_type in _BARE_TYPE_TOKENS and i + 2 < len(tokens)
                and tokens[i + 1].token_type == kind.L_BRACKET
                and tokens[i + 2].token_type == kind.R_BRACKET
                and not (i and tokens[i - 1].token_type == kind.DOT)):
            out.append(Token(kind.VAR, "pg_catalog", t.line, t.col, t.start, t.start - 1))
            out.append(Token(kind.DOT, ".", t.line, t.col, t.start, t.start - 1))
        out.append(t)
    return out


# What a call of `convert` is given to sqlglot as, and read back as (`_named_back`).
_CONVERT_STAND_IN = "dbsafe_convert_call"


def _convert_calls(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with a call of `convert` named so that sqlglot reads it as a call.

    PostgreSQL has no CONVERT syntax: `convert(...)` calls a function of that name, its own
    `convert(bytea, name, name)` or one of the database's (Liberapay's `convert(
    currency_amount, currency)`). sqlglot reads it as MySQL's `CONVERT(value, type)`, a cast
    to a type the second argument names, whose columns were never read (`convert(a, b)`: a
    cast to a type `b`), and refused it where that argument is no type name (`convert(
    %(amount)s, t.amount::currency)`): 5 of Liberapay's statements. sqlglot picks its syntax
    by the function's name alone, so the call is parsed under a name it has no syntax for,
    at its own position, and given back its own name once parsed (`_named_back`).

    >>> [t.text for t in _convert_calls(tokenize_postgres("SELECT convert(a, b)"))][:2]
    ['SELECT', 'dbsafe_convert_call']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    out = tokens
    for i in range(len(tokens) - 1):
        word = tokens[i]
        if (word.token_type == kind.VAR and word.text.lower() == "convert"
                and tokens[i + 1].token_type == kind.L_PAREN
                and not (i and tokens[i - 1].token_type == kind.DOT)):
            if out is tokens:
                out = list(tokens)
            out[i] = Token(kind.VAR, _CONVERT_STAND_IN, word.line, word.col, word.start,
                           word.end, word.comments)
    return out


def _named_back(trees: list[exp.Expr | None], sql: str) -> list[exp.Expr | None]:
    """`trees` with each call `_convert_calls` renamed given its name as written."""
    if _CONVERT_STAND_IN not in sql:
        for tree in trees:
            for call in tree.find_all(exp.Anonymous) if tree is not None else ():
                if call.this == _CONVERT_STAND_IN:
                    start = call.meta.get("start")
                    end = call.meta.get("end")
                    call.set("this", sql[start:end + 1] if isinstance(start, int)
                             and isinstance(end, int) else "convert")
    return trees


def _is_calls(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with an `is` right before `(` read as a function's name.

    PostgreSQL's `IS` may name a function (its keyword list: "reserved (can be function or
    type)") and is never an operator before `(` (`IS NULL`, `IS DISTINCT FROM`, `IS JSON`,
    ...), so `is(` is a call: pgTAP's `SELECT is(have, want, 'description')`, the commonest
    statement of a `supabase/tests/*.test.sql` file (most of pgflow's 206
    unparsable ones: sqlglot reads `IS` with nothing after it, and checks none of the columns).

    >>> [t.token_type.name for t in _is_calls(tokenize_postgres("SELECT is(a, 1)"))][:3]
    ['SELECT', 'VAR', 'L_PAREN']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    if not any(t.token_type == kind.IS for t in tokens):
        return tokens
    out = list(tokens)
    for i in range(len(out) - 1):
        word = out[i]
        if word.token_type == kind.IS and out[i + 1].token_type == kind.L_PAREN:
            out[i] = Token(kind.VAR, word.text, word.line, word.col, word.start, word.end,
                           word.comments)
    return out


def _keyword_placeholders(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with the name of a `:name` placeholder read as a name when it is a keyword.

    A driver's `:name` (SQLAlchemy's `text()`, sqlc's `@values` as dbsafe reads it) takes any
    word, but sqlglot reads only names and non-reserved keywords after the colon as a
    placeholder: `unnest(:values::text[])`, `a = :from` were no statement at all, so nothing
    in them was checked. The word right after a lone `:` (`::` is one token of its own) is
    given the type of a name, at its own position.

    >>> [t.token_type.name for t in _keyword_placeholders(tokenize_postgres("a = :from"))]
    ['VAR', 'EQ', 'COLON', 'VAR']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    out = list(tokens)
    for i in range(1, len(out)):
        colon, word = out[i - 1], out[i]
        if (colon.token_type == kind.COLON and word.start == colon.end + 1
                and word.token_type not in (kind.VAR, kind.NUMBER, kind.STRING, kind.IDENTIFIER)
                and (word.text[:1].isalpha() or word.text[:1] == "_")):
            out[i] = Token(kind.VAR, word.text, word.line, word.col, word.start, word.end,
                           word.comments)
    return out


def _rows_bound_to_values(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with a placeholder right after `VALUES` read as one row: `VALUES (%s)`.

    psycopg2 sends a tuple bound to `VALUES %s` as `(1, 2)`, and its `execute_values`
    replaces that `%s` with the rows, `(1, 2), (3, 4)`; sqlglot reads a bare `%s` there as
    no row (`(VALUES %s)` as a modulo of a column `VALUES`). The parentheses added sit at
    the placeholder's own position, so every other token keeps its place.

    >>> [t.text for t in _rows_bound_to_values(tokenize_postgres("VALUES %(rows)s"))]
    ['VALUES', '(', '%', '(', 'rows', ')', 's', ')']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    out: list[sqlglot.tokens.Token] = []
    i, count = 0, len(tokens)
    while i < count:
        token = tokens[i]
        out.append(token)
        i += 1
        if token.token_type != kind.VALUES:
            continue
        end = _percent_placeholder_end(tokens, i)
        if end is None:
            continue
        first, last = tokens[i], tokens[end]
        out.append(Token(kind.L_PAREN, "(", first.line, first.col, first.start, first.start))
        out.extend(tokens[i:end + 1])
        out.append(Token(kind.R_PAREN, ")", last.line, last.col, last.end, last.end))
        i = end + 1
    return out if len(out) != count else tokens


def _percent_placeholder_end(tokens: list[sqlglot.tokens.Token], i: int) -> int | None:
    """Index of the last token of the `%s` or `%(name)s` starting at `i`, or None."""
    kind = sqlglot.TokenType
    if i >= len(tokens) or tokens[i].token_type != kind.MOD:
        return None
    j = i + 1
    if (j + 2 < len(tokens) and tokens[j].token_type == kind.L_PAREN
            and tokens[j].start == tokens[i].end + 1 and tokens[j + 2].token_type == kind.R_PAREN):
        j += 3
    if j < len(tokens) and tokens[j].text in ("s", "S") and tokens[j].start == tokens[j - 1].end + 1:
        return j
    return None


_last_parse: tuple[str, list[sqlglot.tokens.Token], list[exp.Expr | None]] | None = None


def parse_postgres_tokens(sql: str) -> tuple[list[sqlglot.tokens.Token], list[exp.Expr | None]]:
    """sqlglot's tokens and trees of `sql`, from the last `parse_postgres` when it read this
    very statement: confirmation numbers the placeholders of a statement the resolver has
    just read without parsing it again. Only for reading Placeholder and Parameter nodes:
    the resolver marks nodes of its trees as it walks them, so every resolution parses
    afresh."""
    last = _last_parse
    if last is not None and last[0] == sql:
        return last[1], last[2]
    tokens = tokenize_postgres(sql)
    return tokens, _parse_overloads_as_calls(_postgres()[1], _as_parsed(tokens), sql)


def tokenize_postgres(sql: str) -> list[sqlglot.tokens.Token]:
    """`sqlglot.tokenize(sql, read="postgres")` with the shared tokenizer, `?::` read as
    PostgreSQL's lexer reads it (`_placeholder_casts`), `$1,$2` too (`_dollar_parameters`)."""
    try:
        tokens = _postgres()[0].tokenize(sql)
    except TokenError:
        tokens = _dollar_parameters(sql)
    return _values_names(_placeholder_casts(tokens))


def _values_names(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with a `values` that opens no VALUES list read as the name it is:
    PostgreSQL's `VALUES` is followed by `(` but in `DEFAULT VALUES`, and is otherwise a
    name it takes for a table or column (Arches' `JOIN values c ON (c.conceptid = ...)`,
    its table of concept values, which sqlglot read as `VALUES (c)`: `c.conceptid` of no
    table). A placeholder after it stands for the rows (psycopg's `VALUES %s`).

    >>> [t.token_type.name for t in _values_names(tokenize_postgres(
    ...     "SELECT v.x FROM values v, (VALUES (1)) w(y)"))][4:9]
    ['FROM', 'VAR', 'VAR', 'COMMA', 'L_PAREN']
    """
    kind = sqlglot.TokenType
    if not any(t.token_type == kind.VALUES for t in tokens):
        return tokens
    out = list(tokens)
    for at, t in enumerate(tokens):
        after = tokens[at + 1].token_type if at + 1 < len(tokens) else None
        if t.token_type == kind.VALUES and after not in _OPENING_ROWS and not (
                at and tokens[at - 1].token_type == kind.DEFAULT):
            out[at] = sqlglot.tokens.Token(kind.VAR, t.text, t.line, t.col, t.start, t.end,
                                           t.comments)
    return out


# What follows a `VALUES` opening its rows: a row, or a placeholder holding them.
_OPENING_ROWS = frozenset({sqlglot.TokenType.L_PAREN, sqlglot.TokenType.MOD,
                           sqlglot.TokenType.COLON, sqlglot.TokenType.PARAMETER,
                           sqlglot.TokenType.PLACEHOLDER})


def _dollar_parameters(sql: str) -> list[sqlglot.tokens.Token]:
    """sqlglot's tokens of `sql` with its `$n` parameters read as PostgreSQL's lexer reads
    them, or the tokenizer's error when it has none.

    sqlglot 30 takes a `$` up to the next `$` for a dollar quote's tag unless what lies
    between is a number or holds a space, so `VALUES ($1,$2)` is an unterminated `$1,$`
    quote and the statement no statement at all (trigger.dev's `$executeRawUnsafe` seeds,
    node-postgres' compact `($1,$2,$3)`); PostgreSQL's tag is a name (`$1` is a parameter).
    Where the scanner finds a parameter, its `$` is read as a blank and given back as the
    `$` token sqlglot makes of a lone `$1`, at its own position.

    >>> [t.text for t in tokenize_postgres("SELECT $1,$2::int")]
    ['SELECT', '$', '1', ',', '$', '2', '::', 'int']
    """
    from pglast.parser import ParseError as ScanError
    from pglast.parser import scan

    tokenizer = _postgres()[0]
    try:
        dollars = {t.start for t in scan(sql) if t.name == "PARAM"}
    except ScanError:
        dollars = set()
    if not dollars:
        return tokenizer.tokenize(sql)  # the tokenizer's own error
    blanked = "".join(" " if i in dollars else c for i, c in enumerate(sql))
    out: list[sqlglot.tokens.Token] = []
    for t in tokenizer.tokenize(blanked):
        if t.start - 1 in dollars:
            out.append(sqlglot.tokens.Token(sqlglot.TokenType.PARAMETER, "$", t.line, t.col - 1,
                                            t.start - 1, t.start - 1))
        out.append(t)
    return out


def _placeholder_casts(tokens: list[sqlglot.tokens.Token]) -> list[sqlglot.tokens.Token]:
    """`tokens` with sqlglot's one token `?::` (another dialect's operator) read as a `?`
    placeholder and a `::` cast, as PostgreSQL's lexer reads it (`:` is no operator
    character): knex's `?::timestamptz` is its binding cast, sent as `$1::timestamptz`.

    >>> [t.text for t in _placeholder_casts(_postgres()[0].tokenize("a > ?::date"))]
    ['a', '>', '?', '::', 'date']
    """
    Token, kind = sqlglot.tokens.Token, sqlglot.TokenType
    if not any(t.token_type == kind.QDCOLON for t in tokens):
        return tokens
    out: list[sqlglot.tokens.Token] = []
    for t in tokens:
        if t.token_type == kind.QDCOLON and t.text == "?::":
            out.append(Token(kind.PLACEHOLDER, "?", t.line, t.col - 2, t.start, t.start,
                             t.comments))
            out.append(Token(kind.DCOLON, "::", t.line, t.col, t.start + 1, t.end))
        else:
            out.append(t)
    return out


@functools.cache
def _postgres() -> tuple[sqlglot.tokens.Tokenizer, sqlglot.parser.Parser]:
    # Both reset themselves at each call and hand back new lists and trees; worker
    # processes are forked, never threads, so one pair per process is enough.
    dialect = sqlglot.Dialect.get_or_raise("postgres")
    return dialect.tokenizer(), dialect.parser()


# Distinct statements whose resolution a resolver keeps (`Resolver.resolve`).
_RESOLVED_SIZE = 50_000
_SYSTEM_COLUMN_SET = frozenset({"tableoid", "cmax", "xmax", "cmin", "xmin", "ctid"})
# RETURNING old.* / new.* exist from PostgreSQL 18 on.
_OLD_NEW_SINCE = 180000
# What `SELECT * FROM a_sequence` returns (PostgreSQL 10 and later).
_SEQUENCE_COLUMNS: Columns = ("last_value", "log_cnt", "is_called")
# SQL-value functions PostgreSQL's grammar calls without parentheses, also in FROM.
_SQL_VALUE_FUNCTIONS = frozenset(
    """current_date current_time current_timestamp localtime localtimestamp current_role
    current_user session_user user current_catalog current_schema system_user""".split()
)

# SQLite's own catalog tables (`main.` and `temp.` are its schemas), and the table-valued
# functions of its pragmas that read one, named without arguments as a table (Datasette's
# `select type from pragma_table_list where name = ?`): a statement reading one the schema
# lacks is SQLite's, sent to a connection the module does not show.
_SQLITE_CATALOG = frozenset(
    """sqlite_master sqlite_schema sqlite_temp_master sqlite_temp_schema sqlite_sequence
    sqlite_stat1 sqlite_stat4 pragma_table_list pragma_table_info pragma_table_xinfo
    pragma_index_list pragma_index_info pragma_index_xinfo pragma_foreign_key_list
    pragma_foreign_key_check pragma_database_list pragma_collation_list pragma_function_list
    pragma_module_list pragma_pragma_list pragma_compile_options""".split()
)
_SQLITE_SCHEMAS = (None, "main", "temp")

# The one table Amazon S3 Select's SQL reads: the object queried (`SELECT s.* FROM s3object s
# WHERE s.id > 1`, given as boto3's `select_object_content(Expression=...)`). A statement
# reading it unqualified, the schema lacking it, is S3 Select's (RapidPro's archive queries).
_S3_SELECT_OBJECT = "s3object"

# Oracle's data dictionary views (`all_tables`, `user_constraints`, `dba_indexes`, also as
# `sys.all_tables`): a statement reading one the schema lacks is Oracle's, sent where the
# database is Oracle (Rucio's `list_oracle_global_temp_tables` reads `all_tables`, its one
# caller behind `dialect.name == 'oracle'`). The suffixes are the dictionary's names for
# schema objects; `user_` with them reads as Oracle's as much as `all_` does.
_ORACLE_DICTIONARY_OBJECTS = frozenset(
    """tables tab_columns tab_cols constraints cons_columns indexes ind_columns sequences
    views synonyms triggers objects tab_comments col_comments mviews tab_privs
    tab_partitions part_tables""".split()
)
_ORACLE_DICTIONARY = frozenset(
    f"{prefix}_{name}" for prefix in ("all", "user", "dba")
    for name in _ORACLE_DICTIONARY_OBJECTS
)
_ORACLE_SCHEMAS = (None, "sys")

_CHECKED_STATEMENTS = (
    exp.Select,
    exp.SetOperation,
    exp.Subquery,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Values,
)

# Statement kinds validate deliberately does not check (DDL and utility statements).
_UTILITY_STATEMENTS = (
    exp.Create, exp.Drop, exp.Alter, exp.Set, exp.Transaction, exp.Commit, exp.Rollback,
    exp.Copy, exp.TruncateTable, exp.Analyze, exp.Comment, exp.Grant, exp.Revoke,
    exp.Describe, exp.Use, exp.Refresh, exp.Pragma, exp.Kill, exp.Show, exp.Execute,
    exp.Declare, exp.Lock,
)

_IGNORED_COMMANDS = frozenset(
    """SHOW VACUUM LOCK LISTEN NOTIFY UNLISTEN GRANT REVOKE COMMENT REINDEX CLUSTER
    REFRESH DISCARD RESET CHECKPOINT PREPARE EXECUTE DEALLOCATE DECLARE FETCH MOVE CLOSE
    SECURITY IMPORT LOAD REASSIGN ALTER CREATE DROP SET START SAVEPOINT RELEASE ABORT
    END""".split()
)

_EXPLAINABLE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "VALUES", "TABLE"})


def _command_tokens(sql: str) -> tuple[int, list[sqlglot.tokens.Token]] | None:
    """The tokens after a command's keyword (EXPLAIN, DECLARE) and where they start: the
    tokenizer hands back everything after a COMMAND keyword as one string."""
    try:
        first = tokenize_postgres(sql)
        rest = first[0].end + 1 if first else 0
        return rest, tokenize_postgres(sql[rest:])
    except SqlglotError:
        return None


def _explained_statement_offset(sql: str) -> int | None:
    """Offset of the statement inside an EXPLAIN, found with sqlglot's tokenizer."""
    found = _command_tokens(sql)
    if found is None:
        return None
    rest, tokens = found
    depth = 0
    for token in tokens:
        if token.token_type == sqlglot.TokenType.L_PAREN:
            depth += 1
        elif token.token_type == sqlglot.TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.text.upper() in _EXPLAINABLE:
            return rest + token.start
    return None


def _regclass_literal(node: exp.Expr) -> exp.Literal | None:
    """The string a cast to regclass or a regclass function argument names, if any."""
    if isinstance(node, exp.Cast):
        target = node.args.get("to")
        literal = node.this
        if not (isinstance(target, exp.ObjectIdentifier) and target.name.lower() == "regclass"):
            return None
    elif isinstance(node.this, str) and node.this.lower() in REGCLASS_FUNCTIONS and node.expressions:
        parent = node.parent
        if (isinstance(parent, exp.Dot) and parent.expression is node
                and parent.this.name.lower() != "pg_catalog"):
            return None  # `app.nextval(...)`: someone else's function
        literal = node.expressions[0]
    else:
        return None
    return literal if isinstance(literal, exp.Literal) and literal.is_string else None


def _qualified_name(text: str) -> tuple[str, ...] | None:
    """The name parts of a regclass string as PostgreSQL splits them (`'s."T"'` is
    ('s', 'T')), or None for an OID or anything else. A regclass string is not SQL: this
    follows `SplitIdentifierString`, which `regclassin` uses (quoted parts keep their case
    and `""`, the others are folded; dots separate; blanks around parts are dropped).

    >>> _qualified_name('Public."My Seq"'), _qualified_name('12345'), _qualified_name('a..b')
    (('public', 'My Seq'), None, None)
    """
    if not text or text.strip().isdigit():
        return None
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == '"':
            j, name = i + 1, []
            while True:
                k = text.find('"', j)
                if k == -1:
                    return None
                name.append(text[j:k])
                if text[k + 1:k + 2] == '"':
                    name.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            part = "".join(name)
        else:
            j = i
            while i < n and text[i] != "." and not text[i].isspace():
                i += 1
            part = text[j:i].lower()
        if not part:
            return None
        parts.append(part)
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            return tuple(parts)
        if text[i] != ".":
            return None
        i += 1


def _cursor_query_offset(sql: str) -> int | None:
    """Offset of the query in `DECLARE name [options] CURSOR [WITH HOLD] FOR query`."""
    found = _command_tokens(sql)
    if found is None:
        return None
    rest, tokens = found
    for token, following in itertools.pairwise(tokens):
        if token.token_type == sqlglot.TokenType.FOR:
            if following.text.upper() in _EXPLAINABLE or following.token_type == sqlglot.TokenType.L_PAREN:
                return rest + following.start
            return None
    return None


# What a `CALL`'s call is read after: the query `SELECT proc(arguments)`.
CALL_AS_QUERY = "SELECT "


def called_offset(sql: str) -> int | None:
    """Offset of the call in `CALL [schema.]procedure(arguments)`.

    >>> called_offset("CALL  app.archive(%s)")
    6
    """
    found = _command_tokens(sql)
    if found is None or not found[1]:
        return None
    return found[0] + found[1][0].start


def prepared_statement_offset(sql: str) -> int | None:
    """Offset of the statement in `PREPARE name [(type, ...)] AS statement` (Taiga prepares
    its bulk `UPDATE`s by hand, then runs `EXECUTE name (%s, ...)` per row)."""
    found = _command_tokens(sql)
    if found is None:
        return None
    rest, tokens = found
    depth = 0
    for token, following in itertools.pairwise(tokens):
        if token.token_type == sqlglot.TokenType.L_PAREN:
            depth += 1
        elif token.token_type == sqlglot.TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.token_type == sqlglot.TokenType.ALIAS:
            if following.text.upper() in _EXPLAINABLE or following.token_type == sqlglot.TokenType.L_PAREN:
                return rest + following.start
            return None
    return None


def _type_names_relation(type_name: str, relation: Relation) -> bool:
    """Whether an argument type written by format_type() is `relation`'s row type."""
    parts = [p.strip('"') for p in type_name.split(".")]
    if parts[-1] != relation.name:
        return False
    return len(parts) == 1 or parts[-2] == relation.schema



def _call_unread(sql: str, unparsed: Resolution) -> Resolution:
    """A `CALL` whose arguments sqlglot cannot read (`unparsed`): not analysed where
    PostgreSQL's parser reads it (the procedure it calls is checked as any call is, by
    `Resolver._with_missing_calls`), else `unparsed`."""
    from pglast.parser import parse_sql_json

    try:
        parse_sql_json(sql)
    except Exception:  # noqa: BLE001 - a CALL PostgreSQL's grammar rejects: unparsed
        return unparsed
    return Resolution(NOT_ANALYSED, reason=f"{unparsed.reason} (its arguments): the procedure "
                      "it calls was checked, its arguments' columns were not")


def _parsed_alone(text: str) -> list[exp.Expr] | Resolution:
    """`text`'s statements as sqlglot parses them, or why it cannot (UNPARSED)."""
    try:
        return [s for s in parse_postgres(text) if s is not None]
    except SqlglotError as exc:
        return Resolution(UNPARSED, reason=f"sqlglot could not parse it: {first_line(exc)}")
    except Exception as exc:
        log.debug("sqlglot failed on %r", text, exc_info=True)
        return Resolution(UNPARSED, reason=f"sqlglot failed on it: {_internal(exc)}")

def _internal(exc: Exception) -> str:
    """An unexpected exception as a one-line reason (the traceback goes to the debug log)."""
    return f"internal {type(exc).__name__}: {first_line(exc)[:200]}"


def _combine(results: list[Resolution]) -> Resolution:
    if len(results) == 1:
        return results[0]
    order = (UNPARSED, NOT_ANALYSED, ANALYSED, IGNORED)
    status = min((r.status for r in results), key=order.index)
    problems = tuple(p for r in results for p in r.problems)
    reason = next((r.reason for r in results if r.status == status), None)
    return Resolution(status, problems, reason)


# -- one statement -----------------------------------------------------------------------


class _Run:
    """State while resolving one statement: problems found, references silenced."""

    def __init__(self, resolver: Resolver, offset: int, sql: str = "") -> None:
        self.r = resolver
        self.offset = offset
        self.sql = sql  # the text parsed: node positions (`meta`) are offsets into it
        self.problems: list[Problem] = []
        self.silenced: list[str] = []
        self.catalog_read = False  # a system catalog's columns were checked
        self.sqlite_catalog: str | None = None  # a SQLite catalog table the statement reads
        self.s3_select = False  # the statement reads S3 Select's `s3object`
        self.oracle_dictionary: str | None = None  # an Oracle dictionary view it reads
        self.unjudged_names: set[str] = set()  # `Resolution.unjudged_names`

    def silence(self, reason: str) -> None:
        if reason not in self.silenced:
            self.silenced.append(reason)

    # -- statements ----------------------------------------------------------------------

    def statement(self, node: exp.Expression, outer: _Scope | None, ctes: _Ctes) -> Columns:
        """Resolve any query or DML node; return its output (or RETURNING) columns."""
        if isinstance(node, exp.Subquery):
            return self.subquery(node, outer, ctes)
        if isinstance(node, exp.Select):
            return self.select(node, outer, ctes)
        if isinstance(node, exp.SetOperation):
            return self.set_operation(node, outer, ctes)
        if isinstance(node, exp.Values):
            return self.values(node, outer, ctes)
        if isinstance(node, exp.Insert):
            return self.insert(node, outer, ctes)
        if isinstance(node, exp.Update):
            return self.update(node, outer, ctes)
        if isinstance(node, exp.Delete):
            return self.delete(node, outer, ctes)
        if isinstance(node, exp.Merge):
            return self.merge(node, outer, ctes)
        raise _Unsupported(f"{type(node).__name__} is not modelled")

    def subquery(self, node: exp.Subquery, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        columns = self.statement(node.this, outer, ctes)
        self.order_limit(node, columns, outer, ctes)
        return columns

    def with_clause(self, node: exp.Expression, outer: _Scope | None, ctes: _Ctes) -> _Ctes:
        with_ = node.args.get("with_")
        if not with_:
            return ctes
        env = ctes.child()
        recursive = bool(with_.args.get("recursive"))
        if recursive:
            # In WITH RECURSIVE every CTE may name any other; until resolved it is unknown.
            for cte in with_.expressions:
                env.names[_fold(cte.args["alias"].this)] = _UNKNOWN
        # SEARCH/CYCLE ... SET col [USING path] add columns to the recursive CTE (sqlglot
        # keeps a CYCLE after a SEARCH apart, in `cycle`).
        added = tuple(
            _fold(i) for clause in (with_.args.get("search"), with_.args.get("cycle"))
            if clause is not None
            for i in (clause.expression, clause.args.get("using"))
            if isinstance(i, exp.Identifier)
        )
        for cte in with_.expressions:
            name = _fold(cte.args["alias"].this)
            env.names[name] = self.cte(cte, name, outer, env, recursive, added) + added
        return env

    def cte(self, cte: exp.CTE, name: str, outer: _Scope | None, env: _Ctes, recursive: bool,
            added: Columns = ()) -> Columns:
        body = cte.this
        alias_columns = _alias_columns(cte.args["alias"])
        if recursive and isinstance(body, exp.Union) and not body.args.get("with_"):
            # The non-recursive term fixes the columns the recursive term sees, with those
            # SEARCH/CYCLE add (`WHERE NOT is_cycle` in the recursive term).
            left = self.statement(body.this, outer, env)
            env.names[name] = _rename(left, alias_columns) + added
            self.statement(body.expression, outer, env)
            columns = left
        else:
            columns = self.statement(body, outer, env)
        if isinstance(body, (exp.Insert, exp.Update, exp.Delete, exp.Merge)) and not body.args.get("returning"):
            columns = _UNKNOWN
        return _rename(columns, alias_columns)

    def select(self, node: exp.Select, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        scope = _Scope(parent=outer)
        self.from_clause(node, scope, ctes)
        outputs = self.select_outputs(node, scope)
        for projection in node.expressions:
            self.expression(projection, scope, ctes)
        for key in ("where", "having", "qualify"):
            if node.args.get(key) is not None:
                self.expression(node.args[key], scope, ctes)
        for window in node.args.get("windows") or ():
            self.expression(window, scope, ctes)
        names = frozenset(n for n in outputs if n is not None)
        group = node.args.get("group")
        if group is not None:
            self.items_with_aliases(group, scope, ctes, names, input_first=True)
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            self.items_with_aliases(distinct.args["on"], scope, ctes, names, input_first=False)
        order = node.args.get("order")
        if order is not None:
            self.items_with_aliases(order, scope, ctes, names, input_first=False)
        for key in ("limit", "offset"):
            if node.args.get(key) is not None:
                self.expression(node.args[key], scope, ctes)
        for lock in node.args.get("locks") or ():
            for table in lock.expressions:
                self.locked(table, scope)
        return outputs

    def regclass(self, literal: exp.Literal) -> None:
        """A string PostgreSQL turns into a relation when it parses the statement
        (`'name'::regclass`, `nextval('name')`): the relation must exist then."""
        parts = _qualified_name(literal.this)
        if parts is None or len(parts) > 2:
            return  # an OID, a syntax PostgreSQL rejects itself, a database name
        schema, name = parts if len(parts) == 2 else (None, parts[0])
        if (schema is not None and (schema in SYSTEM_SCHEMAS or schema.startswith("pg_"))) or (
                schema is None and name.startswith("pg_")):
            return
        if self.r.relation_named(name, schema):
            return
        if name not in self.r.made:  # (one the script made is reported: the caller says so)
            if self.r.has_extensions:
                self.unjudged_names.add(name)
                self.silence(f"`{literal.this}` may be an extension's relation")
                return
            if schema is not None and schema not in self.r.schemas and \
                    not self.r.snapshot.covers_all_schemas:
                self.unjudged_names.add(name)
                self.silence(f"schema `{schema}` is not in the snapshot")
                return
        start, end = literal.meta.get("start"), literal.meta.get("end")
        if start is None or end is None or end - start < 2:
            return
        # The span is the string's contents: the name PostgreSQL looks up.
        self.unknown_table(literal, name, schema, span=(int(start) + 1, int(end) - 1),
                           named_by=f" (named by the string '{literal.this}')")

    def locked(self, table: exp.Expression, scope: _Scope) -> None:
        """`FOR UPDATE OF name`: a FROM item of this query level, by its alias."""
        if not (isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier)
                and not table.args.get("db")):
            return  # a qualified name is a syntax error PostgreSQL reports itself
        name = _fold(table.this)
        if name in scope.sources:
            return
        if any(key.startswith("?") for key in scope.sources):
            self.silence("an unnamed FROM item is in scope")
            return
        named = list(scope.named())
        aliased = tuple(s.alias for s in scope.sources.values()
                        if s.relation is not None and s.relation.name == name)
        message = (f"`{name}` in FOR UPDATE/SHARE OF is not a table or alias in this query's "
                   f"FROM ({', '.join(f'`{n}`' for n in named) or 'empty'})")
        if aliased:
            self.problems.append(self.make_problem(
                UNKNOWN_TABLE.code, message, name, table.this, aliased,
                f"Name `{name}` by its alias `{aliased[0]}`."))
        else:
            self.problem(UNKNOWN_TABLE.code, message, name, table.this, _suggest(name, named))

    def set_operation(self, node: exp.SetOperation, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        left = self.statement(node.this, outer, ctes)
        self.statement(node.expression, outer, ctes)
        if node.args.get("by_name"):
            left = _UNKNOWN
        self.order_limit(node, left, outer, ctes, set_operation=True)
        return left

    def order_limit(self, node: exp.Expression, columns: Columns, outer: _Scope | None,
                    ctes: _Ctes, *, set_operation: bool = False) -> None:
        """ORDER BY over a set operation or parenthesised query: output names only (a
        parenthesised SELECT's still sees its own tables: PostgreSQL accepts
        `(SELECT id FROM a) ORDER BY a.id`)."""
        order = node.args.get("order")
        if order is not None:
            for item in order.expressions:
                target = item.this if isinstance(item, exp.Ordered) else item
                if isinstance(target, exp.Column) and not target.table:
                    name = _fold(target.this) if isinstance(target.this, exp.Identifier) else None
                    if name is not None and name not in columns and None not in columns:
                        self.unknown_output(target, name, columns)
                elif (set_operation and isinstance(target, exp.Column)
                      and isinstance(target.this, exp.Identifier)
                      and not target.args.get("db") and not target.args.get("catalog")
                      and (outer is None or self.find_qualified(target, outer) is None)):
                    # `... UNION ... ORDER BY t.x`: the tables of the branches are not in
                    # scope there (PostgreSQL: missing FROM-clause entry, 42P01).
                    self.missing_qualifier(target, _Scope(parent=outer))
        scope = _Scope(parent=outer)
        for key in ("limit", "offset"):
            if node.args.get(key) is not None:
                self.expression(node.args[key], scope, ctes)

    def values(self, node: exp.Values, outer: _Scope | None, ctes: _Ctes) -> Columns:
        scope = _Scope(parent=outer)
        width = 0
        for row in node.expressions:
            self.expression(row, scope, ctes)
            width = max(width, len(row.expressions) if isinstance(row, exp.Tuple) else 1)
        return tuple(f"column{i + 1}" for i in range(width))

    # -- FROM ----------------------------------------------------------------------------

    def from_clause(self, node: exp.Expression, scope: _Scope, ctes: _Ctes) -> None:
        from_ = node.args.get("from_")
        chain: list[str] = []
        if from_ is not None:
            before = dict(scope.sources)
            self.add_from_item(from_.this, scope, ctes)
            chain = _added(before, scope)
        self.joins(node, scope, ctes, chain)

    def joins(self, node: exp.Expression, scope: _Scope, ctes: _Ctes, chain: list[str]) -> None:
        """The joins of a query, or of one FROM item: `FROM b, c` and `b JOIN c JOIN d ON …`
        reach sqlglot as joins nested in the table `b`. `chain` holds the scope keys of the
        items joined so far by JOIN: a comma starts a new chain, and an ON or USING sees
        only its chain and the item it joins (and outer queries)."""
        for join in node.args.get("joins") or ():
            comma = not any(join.args.get(k) for k in ("kind", "side", "method", "on", "using"))
            left = [scope.sources[key] for key in chain if key in scope.sources]
            before = dict(scope.sources)
            source = self.add_from_item(join.this, scope, ctes)
            added = _added(before, scope)
            chain = added if comma else [*chain, *added]
            if join.args.get("on") is not None:
                self.expression(join.args["on"], _part_scope(scope, chain, _JOIN_ON), ctes)
            for identifier in join.args.get("using") or ():
                self.using_column(identifier, left, source)

    def add_from_item(self, item: exp.Expression, scope: _Scope, ctes: _Ctes) -> _Source | None:
        if isinstance(item, exp.Subquery) and _is_join_tree(item.this):
            return self.parenthesised_join(item, scope, ctes)
        # `a JOIN (SELECT …) b JOIN c ON … ON …` (also LATERAL, VALUES): sqlglot hangs the
        # inner join on whatever FROM item comes first, which only joins the scope here.
        tree = bool(item.args.get("joins"))
        before = dict(scope.sources) if tree else {}
        source = self.from_item(item, scope, ctes)
        if source is not None:
            scope.add(source)
        if tree:
            self.joins(item, scope, ctes, _added(before, scope))
            return None  # a join tree, not one source: USING checks stay silent
        return source

    def parenthesised_join(self, item: exp.Subquery, scope: _Scope, ctes: _Ctes) -> _Source | None:
        """`(b JOIN c ON …)`: its members join the scope; `(…) AS j` hides them behind `j`."""
        alias = item.args.get("alias")
        if alias is None or not alias.this:
            self.add_from_item(item.this, scope, ctes)
            return None
        # Earlier FROM items stay visible (as LATERAL references may use them): silence, not
        # a false finding, is the cost of the approximation.
        inner = _Scope(parent=scope)
        self.add_from_item(item.this, inner, ctes)
        columns: Columns = tuple(c for s in inner.sources.values() for c in s.columns)
        if any(not s.known for s in inner.sources.values()):
            columns = _UNKNOWN
        name = _fold(alias.this)
        source = _Source(name, _rename(columns, _alias_columns(alias)), name, name)
        scope.add(source)
        return source

    def from_item(self, item: exp.Expression, scope: _Scope, ctes: _Ctes) -> _Source | None:
        if isinstance(item, exp.Table):
            if item.args.get("rows_from"):
                return self.rows_from(item, scope, ctes)
            if isinstance(item.this, exp.Identifier):
                return self.table(item, ctes)
            if isinstance(item.this, exp.Func):
                return self.function_source(item.this, item, scope, ctes)
            raise _Unsupported(f"FROM item {item.sql('postgres')[:40]} is not modelled")
        if isinstance(item, exp.Unnest):
            return self.function_source(item, item, scope, ctes)
        if isinstance(item, exp.Lateral):
            call = _lateral_call(item)
            if call is not None:
                return self.function_source(call, item, scope, ctes)
            return self.derived(item.this, item.args.get("alias"), scope, scope, ctes)
        if isinstance(item, exp.Subquery):
            # Only LATERAL subqueries see their siblings; a plain one sees outer queries.
            lateral = item.args.get("lateral")
            return self.derived(item, item.args.get("alias"), scope if lateral else scope.parent, scope, ctes)
        if isinstance(item, exp.Values):
            return self.derived(item, item.args.get("alias"), scope.parent, scope, ctes)
        raise _Unsupported(f"FROM item {type(item).__name__} is not modelled")

    def derived(
        self, query: exp.Expression, alias: exp.TableAlias | None, outer: _Scope | None,
        scope: _Scope, ctes: _Ctes,
    ) -> _Source | None:
        if isinstance(query, exp.Subquery) and isinstance(query.this, exp.Values):
            query = query.this
        body = query
        if isinstance(query, exp.Values):
            alias = alias or query.args.get("alias")
            body = exp.Values(expressions=query.expressions)
        columns = self.statement(body, outer, ctes)
        if alias is None or not alias.this:
            # An unaliased subquery in FROM (PG 16+) can't be named; its columns still
            # resolve unqualified.
            name = f"?subquery{len(scope.sources)}"
            return _Source(name, columns, "subquery", "subquery")
        name = _fold(alias.this)
        columns = _rename(columns, _alias_columns(alias))
        return _Source(name, columns, name, name)

    def rows_from(self, item: exp.Table, scope: _Scope, ctes: _Ctes) -> _Source | None:
        """`ROWS FROM (f(), g()) [WITH ORDINALITY] AS s(...)`: each function's columns in
        turn, a scalar one named after its function (after the alias when it is alone)."""
        parts: list[Columns] = []
        scalar = False  # the last function returns a scalar, its column named after it
        for function in item.args["rows_from"]:
            call = function if isinstance(function, exp.Unnest) else (
                function.this if isinstance(function, exp.Table) else None)
            if not isinstance(call, (exp.Func, exp.Unnest)):
                self.expression(function, scope, ctes)
                parts.append(_UNKNOWN)
                continue
            source = self.function_source(call, function, scope, ctes)
            parts.append(source.columns if source is not None else _UNKNOWN)
            # (a single OUT parameter names its column itself: `value`)
            scalar = source is not None and source.columns == (source.alias,)
        alias = item.args.get("alias")
        if alias is None or not alias.this:
            self.silence("ROWS FROM without an alias is not modelled")
            return _Source(f"?rows{len(scope.sources)}", _UNKNOWN, "ROWS FROM", "ROWS FROM")
        name = _fold(alias.this)
        if any(None in part for part in parts):
            columns = _UNKNOWN
        elif len(parts) == 1 and scalar and not _alias_columns(
                item.args["rows_from"][0].args.get("alias")):
            columns = (name,)  # a lone scalar function: its column is named by the alias
        else:
            columns = tuple(column for part in parts for column in part)
        ordinality = bool(item.args.get("ordinality"))
        if ordinality and None not in columns:
            columns = (*columns, "ordinality")
        return _Source(name, _rename(columns, _alias_columns(alias)), name, name,
                       one_value=len(columns) == 1 and not ordinality)

    def table(self, item: exp.Table, ctes: _Ctes, *, target: bool = False) -> _Source | None:
        """A named FROM item (or, with `target`, the table a DML statement writes)."""
        if any(part is not None and not isinstance(part, exp.Identifier)
               for part in (item.this, item.args.get("db"), item.args.get("catalog"))):
            # `:SCHEMA.jobs`, `$1.jobs`: a name a tool fills in before sending (graphile-
            # worker's :GRAPHILE_WORKER_SCHEMA), which PostgreSQL's parser rejects as written
            raise _Unsupported("a table named by a placeholder (`:SCHEMA.t`, `$1.t`), "
                               "filled in before the statement is sent")
        name = _fold(item.this)
        alias_node = item.args.get("alias")
        alias = _fold(alias_node.this) if alias_node is not None and alias_node.this else None
        schema_node = item.args.get("db")
        if item.args.get("catalog") is not None:
            self.silence("three-part table names are not checked")
            return _Source(alias or name, _UNKNOWN, name, name)
        # A CTE can be read but not written: `WITH w AS (...) INSERT INTO w` names a table.
        if schema_node is None and name in ctes.names and not target:
            columns = _rename(ctes.names[name], _alias_columns(alias_node))
            return _Source(alias or name, columns, name, name)
        if (schema_node is None and not item.this.quoted and name in _SQL_VALUE_FUNCTIONS
                and not target):
            # `FROM CURRENT_DATE [AS d]` calls the function: one column, named by the alias.
            columns = _rename((alias or name,), _alias_columns(alias_node))
            return _Source(alias or name, columns, name, name)
        schema = _fold(schema_node) if schema_node is not None else None
        relation = self.r.snapshot.find_relation(name, schema)
        if relation is not None and name in self.r.made:
            return _Source(alias or name, _UNKNOWN, name, relation.qualified_name,
                           qualified_as=None if alias else (relation.schema, relation.name))
        if relation is not None:
            source = self.r.relation_source(relation, alias)
            if alias_node is not None and alias_node.columns:
                source.columns = _rename(source.columns, _alias_columns(alias_node))
            return source
        sequence = self.r.sequence(name, schema)
        if sequence is not None and target:
            # Writing a sequence fails, but not with "does not exist": nothing to report.
            return _Source(alias or name, _UNKNOWN, name, ".".join(sequence), reported=True)
        if sequence is not None:
            columns = _rename(_SEQUENCE_COLUMNS, _alias_columns(alias_node))
            return _Source(alias or name, columns, name, ".".join(sequence),
                           extra=_SYSTEM_COLUMN_SET,
                           qualified_as=None if alias else sequence)
        unknown = _Source(alias or name, _UNKNOWN, name, name)
        catalog = None if target else self.r.catalog_source(name, schema, alias)
        if catalog is not None:
            self.catalog_read = True
            if alias_node is not None and alias_node.columns:
                # Every shipped version's columns at once are in no version's order: past
                # the names given, any may follow.
                columns = (catalog.columns if self.r.catalog is None or self.r.catalog.exact
                           else catalog.columns + (None,))
                catalog.columns = _rename(columns, _alias_columns(alias_node))
            return catalog
        if self.r.extension_relation(name, schema):
            self.silence(f"`{name}` is an extension's relation, whose columns are unknown")
            return unknown
        if not target and self.r.catalog_searched_first(schema) and (
                schema is not None or name.startswith("pg_")):
            # Neither in pg_catalog on the exact version of the run nor (unqualified) in
            # the search path: PostgreSQL says the relation does not exist.
            self.unknown_catalog_relation(item.this, name, schema)
            unknown.reported = True
            return unknown
        if schema is None and name.startswith("pg_"):
            return unknown  # pg_catalog is searched first; its relations all start with pg_
        if name in _SQLITE_CATALOG and schema in _SQLITE_SCHEMAS:
            self.sqlite_catalog = name
            return unknown
        if name == _S3_SELECT_OBJECT and schema is None:
            self.s3_select = True
            return unknown
        if name in _ORACLE_DICTIONARY and schema in _ORACLE_SCHEMAS:
            self.oracle_dictionary = name
            return unknown
        if schema is not None and (schema in SYSTEM_SCHEMAS or schema.startswith("pg_")):
            return unknown
        if schema is not None and schema not in self.r.schemas:
            if self.r.snapshot.covers_all_schemas and isinstance(schema_node, exp.Identifier):
                self.unknown_schema(schema_node, schema, name)
                unknown.reported = True
                return unknown
            if name not in self.r.made:  # (one the script made: the caller says so)
                # Introspection may read only some schemas (`schemas=[...]`): a schema
                # missing from the snapshot may well exist, so its tables are unknown.
                self.unjudged_names.add(name)
                self.silence(f"schema `{schema}` is not in the snapshot")
                return unknown
        self.unknown_table(item.this, name, schema)
        unknown.reported = True
        return unknown

    def function_source(
        self, function: exp.Expr, item: exp.Expression, scope: _Scope, ctes: _Ctes
    ) -> _Source | None:
        # Functions in FROM are implicitly LATERAL: arguments see earlier FROM items.
        args = function.expressions if isinstance(function, exp.Unnest) else list(function.iter_expressions())
        for arg in args:
            self.expression(arg, scope, ctes)
        alias_node = item.args.get("alias")
        alias = _fold(alias_node.this) if alias_node is not None and alias_node.this else None
        defined = _alias_columns(alias_node)
        name, schema = _function_name(function, item)
        # sqlglot keeps unnest's WITH ORDINALITY on the Unnest node (`offset`), under LATERAL
        # too; other functions' on the FROM item.
        unnest = function if isinstance(function, exp.Unnest) else None
        ordinality = bool(unnest.args.get("offset")) if unnest is not None else bool(
            item.args.get("ordinality")
        )
        offset = unnest.args.get("offset") if unnest is not None else None
        if isinstance(offset, exp.Identifier):
            # sqlglot moves the last name of `WITH ORDINALITY AS t(a, n)` into `offset`.
            defined = defined + (_fold(offset),)
        if isinstance(function, exp.JSONTable):
            columns = _json_table_columns(function)
        elif name is None:
            columns = _UNKNOWN
        else:
            columns = self.function_columns(function, name, schema, alias, scope)
        if ordinality and None not in columns:
            columns = columns + ("ordinality",)
        if alias_node is not None and alias_node.columns and isinstance(alias_node.columns[0], exp.ColumnDef):
            columns = defined  # a column definition list says exactly what comes out
        else:
            columns = _rename(columns, defined)
        source_name = alias or name or f"?function{len(scope.sources)}"
        if None in columns and not defined:
            shown = name or function.sql("postgres").split("(", 1)[0]  # JSON_TABLE, XMLTABLE
            self.silence(f"columns of function `{shown}` are unknown")
        return _Source(source_name, columns, source_name, source_name,
                       one_value=len(columns) == 1 and not ordinality)

    def function_columns(
        self, function: exp.Expr, name: str, schema: str | None, alias: str | None,
        scope: _Scope,
    ) -> Columns:
        scalar_name = alias or name
        builtin = schema in (None, "pg_catalog")
        if builtin and name == "unnest":
            args = list(function.expressions) if isinstance(function, exp.Unnest) else [function.this]
            if len(args) == 1 and self.is_scalar_array(args[0], scope):
                return (scalar_name,)
            fields = self.composite_elements(args[0], scope) if len(args) == 1 else None
            return fields or _UNKNOWN
        known = self.r.builtin_functions.get(name) if builtin else None
        columns = _UNKNOWN if known is None else _builtin_result(known, scalar_name)
        user = self.r.functions(name, schema) if schema != "pg_catalog" else []
        if user:
            own = _function_result(user, scalar_name)
            # Which of the two PostgreSQL calls depends on the arguments' types.
            return own if known is None or own == columns else _UNKNOWN
        if (known is not None and self.r.catalog is not None and self.r.catalog.exact
                and version_specific(name)):
            self.catalog_read = True  # only a server of this version can confirm it
        return columns

    def is_scalar_array(self, arg: exp.Expression, scope: _Scope) -> bool:
        """Whether unnest(arg) yields one column: the element type is a known scalar.

        unnest() of an array of a composite type yields the type's fields instead, so an
        argument whose type dbsafe cannot see makes the function's columns unknown.
        """
        if isinstance(arg, exp.Array):
            # `ARRAY[(1, 'EUR')::money_t]`, `ARRAY[u.total]`: the elements' type decides
            return bool(arg.expressions) and all(self.is_scalar_value(e, scope)
                                                 for e in arg.expressions)
        if isinstance(arg, exp.Cast):
            return _is_scalar_type(arg.to.sql("postgres").lower().removesuffix("[]"))
        if isinstance(arg, exp.Column) and isinstance(arg.this, exp.Identifier):
            type_name = self.column_type(arg, scope)
            return type_name is not None and type_name.endswith("[]") and _is_scalar_type(type_name[:-2])
        return False

    def composite_elements(self, arg: exp.Expression, scope: _Scope) -> Columns | None:
        """The fields of the composite type an array's elements all have (unnest() yields
        them as its columns), when dbsafe knows it: `ARRAY[x::money_t, ...]`,
        `ARRAY[t.composite_column]`, `t.composite_array_column`; else None."""
        if isinstance(arg, exp.Array) and arg.expressions:
            found = {self.composite_fields(e, scope) for e in arg.expressions}
            return found.pop() if len(found) == 1 else None
        if isinstance(arg, exp.Column) and isinstance(arg.this, exp.Identifier):
            type_name = self.column_type(arg, scope)
            if type_name is not None and type_name.endswith("[]"):
                return self.r.type_fields(type_name[:-2])
        return None

    def composite_fields(self, value: exp.Expression, scope: _Scope) -> Columns | None:
        type_name = self.value_type(value, scope)
        return self.r.type_fields(type_name) if type_name is not None else None

    def value_type(self, value: exp.Expression, scope: _Scope) -> str | None:
        """The type of a cast (as written, lower-cased) or of a column (as the snapshot
        spells it); None for any other value."""
        while isinstance(value, exp.Paren):
            value = value.this
        if isinstance(value, exp.Cast):
            return value.to.sql("postgres").lower()
        if isinstance(value, exp.Column) and isinstance(value.this, exp.Identifier):
            return self.column_type(value, scope)
        return None

    def is_scalar_value(self, value: exp.Expression, scope: _Scope) -> bool:
        """Whether `value`'s type is a known scalar: a literal, a cast to a scalar type or a
        column of one. Anything else (a placeholder, a function's result, a row) may be a
        composite, whose array unnest() spreads into its fields."""
        while isinstance(value, (exp.Paren, exp.Neg)):
            value = value.this
        if isinstance(value, (exp.Literal, exp.Boolean, exp.Null)):
            return True
        type_name = self.value_type(value, scope)
        return type_name is not None and _is_scalar_type(type_name)

    def column_type(self, column: exp.Column, scope: _Scope) -> str | None:
        name = _fold(column.this)
        if column.table:
            candidates = [self.find_qualified(column, scope)]
        else:
            candidates = []
            for level in scope.chain():
                candidates = [s for s in level.sources.values()
                              if not s.ambiguous and (s.has(name) or not s.known)]
                if candidates:
                    break
        if len(candidates) != 1 or candidates[0] is None or candidates[0].relation is None:
            return None
        found = candidates[0].relation.column(name)
        return found.type if found is not None else None

    # -- DML -----------------------------------------------------------------------------

    def target(self, table: exp.Expression, ctes: _Ctes) -> _Source:
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            raise _Unsupported("DML target is not a plain table")
        source = self.table(table, ctes, target=True)
        assert source is not None
        return source

    def insert(self, node: exp.Insert, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        this = node.this
        columns_list = this.expressions if isinstance(this, exp.Schema) else []
        table = this.this if isinstance(this, exp.Schema) else this
        target = self.target(table, ctes)
        for identifier in columns_list:
            if isinstance(identifier, exp.Identifier):
                self.target_column(identifier, target)
        if node.expression is not None:
            self.statement(node.expression, outer, ctes)
        conflict = node.args.get("conflict")
        scope = _Scope(parent=outer)
        scope.add(target)
        if conflict is not None:
            for key in conflict.args.get("conflict_keys") or ():
                self.expression(key, scope, ctes)
            excluded = _Source(
                "excluded", target.columns, "excluded", "excluded", target.relation,
                target.extra - _SYSTEM_COLUMN_SET, stands_for=target,
            )
            update_scope = _Scope(parent=outer)
            update_scope.add(target)
            update_scope.add(excluded)
            for assignment in conflict.expressions:
                self.assignment(assignment, target, update_scope, ctes)
            if conflict.args.get("where") is not None:
                self.expression(conflict.args["where"], update_scope, ctes)
            # the arbiter index's predicate (`ON CONFLICT (id) WHERE active DO ...`)
            if conflict.args.get("index_predicate") is not None:
                self.expression(conflict.args["index_predicate"], scope, ctes)
        return self.returning(node, target, scope, ctes)

    def update(self, node: exp.Update, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        target = self.target(node.this, ctes)
        scope = _Scope(parent=outer)
        scope.add(target)
        self.from_clause(node, scope, ctes)
        for assignment in node.expressions:
            self.assignment(assignment, target, scope, ctes)
        if node.args.get("where") is not None:
            self.expression(node.args["where"], scope, ctes)
        return self.returning(node, target, scope, ctes)

    def delete(self, node: exp.Delete, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        target = self.target(node.this, ctes)
        scope = _Scope(parent=outer)
        scope.add(target)
        for item in node.args.get("using") or ():
            self.add_from_item(item, scope, ctes)
        if node.args.get("where") is not None:
            self.expression(node.args["where"], scope, ctes)
        return self.returning(node, target, scope, ctes)

    def merge(self, node: exp.Merge, outer: _Scope | None, ctes: _Ctes) -> Columns:
        ctes = self.with_clause(node, outer, ctes)
        target = self.target(node.this, ctes)
        scope = _Scope(parent=outer)
        scope.add(target)
        before = dict(scope.sources)
        self.add_from_item(node.args["using"], scope, ctes)
        source_keys = _added(before, scope)
        target_keys = [key for key in scope.sources if key not in source_keys]
        if node.args.get("on") is not None:
            self.expression(node.args["on"], scope, ctes)
        whens = node.args.get("whens")
        for when in whens.expressions if whens is not None else ():
            # No target row when the source's did not match, no source row the other way.
            clause = (scope if when.args.get("matched") else
                      _part_scope(scope, target_keys, _NOT_MATCHED_BY_SOURCE)
                      if when.args.get("source") else
                      _part_scope(scope, source_keys, _NOT_MATCHED))
            if when.args.get("condition") is not None:
                self.expression(when.args["condition"], clause, ctes)
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                for assignment in then.expressions:
                    self.assignment(assignment, target, clause, ctes)
            elif isinstance(then, exp.Insert):
                names = then.this.expressions if isinstance(then.this, exp.Tuple) else []
                for column in names:
                    if isinstance(column, exp.Column) and not column.table:
                        self.target_column(column.this, target)
                if then.expression is not None:
                    self.expression(then.expression, clause, ctes)
        return self.returning(node, target, scope, ctes)

    def assignment(self, assignment: exp.Expression, target: _Source, scope: _Scope, ctes: _Ctes) -> None:
        """`SET col = value` or `SET (a, b) = (...)`: targets are columns of the target."""
        if not isinstance(assignment, exp.EQ):
            self.expression(assignment, scope, ctes)
            return
        left = assignment.this
        targets = left.expressions if isinstance(left, (exp.Tuple, exp.Paren)) else [left]
        if isinstance(left, exp.Paren):
            targets = [left.this]
        for column in targets:
            while isinstance(column, exp.Bracket):  # SET tags[1] = ...
                column = column.this
            if isinstance(column, exp.Column) and not column.table and isinstance(column.this, exp.Identifier):
                self.target_column(column.this, target)
            elif (isinstance(column, exp.Column) and not column.args.get("db")
                  and isinstance(column.args.get("table"), exp.Identifier)):
                # `SET a.b = ...` assigns field b of composite column a (the field is not
                # checked): `SET t.col` names a column `t`, not the table.
                self.set_qualified(column, target)
            elif isinstance(column, exp.Bracket | exp.Column):
                continue
            else:
                self.expression(column, scope, ctes)
        self.expression(assignment.expression, scope, ctes)

    def set_qualified(self, column: exp.Column, target: _Source) -> None:
        qualifier = column.args["table"]
        name = _fold(qualifier)
        if target.known and name not in target.columns and name in (target.alias, target.label):
            field = column.this.sql("postgres")
            self.problems.append(self.make_problem(
                UNKNOWN_COLUMN.code, f"`{target.label}` has no column `{name}`",
                f"{target.subject}.{name}", qualifier, (),
                f"SET takes the column alone (`SET {field} = ...`): `SET {name}.{field}` "
                f"assigns field `{field}` of a column named `{name}`"))
            return
        self.target_column(qualifier, target)

    def target_column(self, identifier: exp.Identifier, target: _Source) -> None:
        name = _fold(identifier)
        if not target.known or name in target.columns:
            if target.silences:
                self.silence(f"columns of `{target.label}` are unknown")
            return
        if name in _SYSTEM_COLUMN_SET and target.relation is not None:
            return  # assigning a system column fails, but not with "does not exist"
        self.unknown_column(identifier, name, target, target.columns)

    def returning(self, node: exp.Expression, target: _Source, scope: _Scope, ctes: _Ctes) -> Columns:
        returning = node.args.get("returning")
        if returning is None:
            return ()
        # PostgreSQL 18 lets RETURNING name the row before and after as `old` and `new`.
        for alias in ("old", "new"):
            if alias not in scope.sources:
                scope.sources[alias] = _Source(
                    alias, target.columns, target.label, target.subject, target.relation,
                    target.extra, qualifier_only=True,
                )
        outputs = self.outputs(returning.expressions, scope)
        for item in returning.expressions:
            self.expression(item, scope, ctes)
        return outputs

    # -- select lists and output names ---------------------------------------------------

    def select_outputs(self, node: exp.Select, scope: _Scope) -> Columns:
        return self.outputs(node.expressions, scope)

    def outputs(self, expressions: Iterable[exp.Expression], scope: _Scope) -> Columns:
        names: list[str | None] = []
        exact = True  # every item is one column, or a star over sources of known columns
        for item in expressions:
            if isinstance(item, exp.Alias):
                names.append(_fold(item.args["alias"]))
            elif isinstance(item, exp.Star):
                for source in scope.sources.values():
                    exact = exact and source.known and not source.ambiguous
                    if not source.ambiguous:
                        names.extend(source.columns)
            elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                found = self.find_qualified(item, scope)
                exact = exact and found is not None and found.known
                names.extend(found.columns if found is not None else _UNKNOWN)
            else:
                names.append(_output_name(item, self.sql))
        return _Exact(names) if exact else tuple(names)

    def unknown_output(self, column: exp.Column, name: str, columns: Columns) -> None:
        self.problem(
            UNKNOWN_COLUMN.code,
            f"the query has no output column `{name}` to order by",
            name,
            column.this,
            _suggest(name, columns),
        )

    # -- expressions ---------------------------------------------------------------------

    def items_with_aliases(
        self, clause: exp.Expression, scope: _Scope, ctes: _Ctes, aliases: frozenset[str],
        *, input_first: bool,
    ) -> None:
        """GROUP BY / ORDER BY / DISTINCT ON: a bare name may be an output column."""
        for item in clause.iter_expressions():
            bare = item.this if isinstance(item, exp.Ordered) else item
            for column in _bare_columns(bare):
                name = _fold(column.this)
                if name in aliases and (not input_first or not self.visible(name, scope)):
                    column.meta["dbsafe_alias"] = True
            self.expression(item, scope, ctes)

    def visible(self, name: str, scope: _Scope) -> bool:
        return any(s.has(name) or not s.known for sc in scope.chain() for s in sc.sources.values())

    def expression(self, node: exp.Expr, scope: _Scope, ctes: _Ctes) -> None:
        kinds = _NODE_KINDS
        stack = [node]
        while stack:
            current = stack.pop()
            kind = kinds.get(type(current))
            if kind is None:
                kind = _node_kind(type(current))
            if kind == _OTHER:
                stack.extend(current.iter_expressions())
                continue
            if kind == _LEAF:
                continue
            if kind == _CALL:
                literal = _regclass_literal(current)
                if literal is not None:
                    self.regclass(literal)
                stack.extend(current.iter_expressions())
                continue
            if kind == _COLUMN:
                self.column(current, scope)  # type: ignore[arg-type]
                continue
            if kind == _QUERY:
                self.statement(current, scope, ctes)  # type: ignore[arg-type]
                continue
            if kind == _NAMED_ARGUMENT:
                stack.append(current.expression)  # `f(name => value)`: name is no column
                continue
            if kind == _DOT:
                if isinstance(current.expression, exp.Func):
                    # `pg_catalog.lower(name)`: the schema is no column, the arguments are.
                    stack.append(current.expression)
                    if not isinstance(current.this, exp.Identifier):
                        stack.append(current.this)
                    continue
                self.record_field(current, scope)  # type: ignore[arg-type]
                # `(x).field`: the field is checked for ROW(...) and composite columns only
                stack.append(current.this)
                continue
            if kind == _IS:
                if _is_predicate_word(current.expression):
                    stack.append(current.this)  # `x IS [NOT] DOCUMENT`: a test, not a column
                else:
                    stack.extend(current.iter_expressions())
                continue
            if kind == _WINDOW:
                for key in ("this", "partition_by", "order", "spec"):
                    value = current.args.get(key)
                    if isinstance(value, list):
                        stack.extend(value)
                    elif isinstance(value, exp.Expression) and not isinstance(value, exp.Identifier):
                        stack.append(value)
                continue
            if kind == _RETURNING_TYPE:
                # `JSON_OBJECT(... RETURNING jsonb)`: sqlglot reads the type as a column.
                returned = current.args.get("return_type")
                stack.extend(e for e in current.iter_expressions() if e is not returned)
                continue
            stack.append(current.this)  # _COLLATE: COLLATE "C" names a collation

    def column(self, column: exp.Column, scope: _Scope) -> None:
        name_node = column.this
        if column.meta.get("dbsafe_alias"):
            return
        if column.args.get("catalog") is not None:
            self.silence("four-part column names are not checked")
            return
        if not column.table:
            if isinstance(name_node, exp.Identifier):
                self.unqualified(name_node, scope)
            return
        source = self.find_qualified(column, scope)
        if source is None:
            self.missing_qualifier(column, scope)
            return
        if source.ambiguous:
            self.silence(f"`{source.alias}` names two tables in FROM (qualify it by schema)")
            return
        if source.qualifier_only and (self.r.server_version or _OLD_NEW_SINCE) < _OLD_NEW_SINCE:
            self.old_new_before_18(column)
            return
        if isinstance(name_node, exp.Star):
            return
        name = _fold(name_node)
        if source.has(name) or name in self.r.row_callable:
            return
        if source.one_value and self.r.callable_on_a_value(name):
            return  # `g.abs` is `abs(g)`
        if not source.known:
            if source.silences:
                self.silence(f"columns of `{source.label}` are unknown")
            return
        self.unknown_column(name_node, name, source, source.columns + tuple(source.extra - _SYSTEM_COLUMN_SET))

    def old_new_before_18(self, column: exp.Column) -> None:
        qualifier = _fold(column.args["table"])
        name = column.name if isinstance(column.this, exp.Identifier) else "*"
        version = self.r.server_version or 0
        major = version // 10000 if version >= 100000 else version / 10000
        start, end = _span(column.args["table"])
        self.problems.append(Problem(
            UNKNOWN_COLUMN.code,
            f"`{qualifier}.{name}` in RETURNING needs PostgreSQL 18; the target is {major}",
            f"{qualifier}.{name}", start + self.offset, end + self.offset, (),
            f"Upgrade to PostgreSQL 18, or return the column without `{qualifier}.`.",
            requires_version=_OLD_NEW_SINCE,
        ))

    def record_field(self, dot: exp.Dot, scope: _Scope) -> None:
        """`(ROW(a, b)).f3`: an anonymous record's fields are f1 ... fn. `(total).amount`:
        a column of a composite type (or a table's row type) has that type's fields."""
        inner = dot.this.this if isinstance(dot.this, exp.Paren) else None
        field_node = dot.expression
        if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Identifier) \
                and isinstance(field_node, exp.Identifier):
            self.composite_field(inner, field_node, scope)
            return
        if not (isinstance(inner, exp.Anonymous) and isinstance(inner.this, str)
                and inner.this.lower() == "row" and isinstance(field_node, exp.Identifier)):
            return
        if any(isinstance(a, exp.Star) or (isinstance(a, exp.Column) and isinstance(a.this, exp.Star))
               for a in inner.expressions):
            return  # `ROW(t.*)` has as many fields as t has columns
        fields = tuple(f"f{i + 1}" for i in range(len(inner.expressions)))
        name = _fold(field_node)
        if name not in fields:
            self.problem(
                UNKNOWN_COLUMN.code,
                f"an anonymous record `ROW(...)` has fields {', '.join(fields) or 'none'}, "
                f"not `{name}`",
                f"row.{name}", field_node, _suggest(name, fields),
            )

    def composite_field(self, column: exp.Column, field_node: exp.Identifier,
                        scope: _Scope) -> None:
        type_name = self.column_type(column, scope)
        fields = self.r.type_fields(type_name) if type_name is not None else None
        name = _fold(field_node)
        if fields is None or name in fields or name in self.r.row_callable \
                or self.r.callable_on_one_argument(name):
            return  # `(c).f` may also call f(c), PostgreSQL's functional notation
        self.problem(
            UNKNOWN_COLUMN.code,
            f"`{column.sql('postgres')}` is of type `{type_name}`, which has no field `{name}`",
            f"{type_name}.{name}", field_node, _suggest(name, fields),
        )

    def find_qualified(self, column: exp.Column, scope: _Scope) -> _Source | None:
        qualifier = _fold(column.args["table"])
        schema_node = column.args.get("db")
        schema = _fold(schema_node) if schema_node is not None else None
        for level in scope.chain():
            if schema is None:
                found = level.sources.get(qualifier)
                if found is not None:
                    return found
            else:
                for source in level.sources.values():
                    if source.qualified_as == (schema, qualifier):
                        return source
                    if (source.qualified_as is None and source.alias == qualifier
                            and not source.known and not source.ambiguous):
                        return source
        return None

    def unqualified(self, identifier: exp.Identifier, scope: _Scope) -> None:
        name = _fold(identifier)
        if not identifier.quoted and name in _KEYWORD_NAMES:
            return
        for level in scope.chain():
            unknown = silencing = False
            for source in level.sources.values():
                if source.qualifier_only or source.ambiguous:
                    continue
                if source.has(name):
                    return
                if not source.known:
                    unknown = True
                    silencing = silencing or source.silences
            if unknown:
                if silencing:
                    self.silence(f"`{name}` may come from a source whose columns are unknown")
                return
        for level in scope.chain():
            if name in level.sources:
                return  # a table alias used as a whole-row value
        sources = [s for level in scope.chain() for s in level.sources.values()
                   if not s.qualifier_only and not s.ambiguous]
        candidates = tuple(n for s in sources for n in s.columns if n is not None)
        for level in scope.chain():
            hidden = [s for s in level.hidden.values() if s.has(name)]
            if hidden and level.part is not None:
                self.problems.append(self.make_problem(
                    UNKNOWN_COLUMN.code,
                    f"`{name}` is a column of `{hidden[0].label}`, which {level.part.where} "
                    "cannot see", f"{hidden[0].subject}.{name}", identifier, (),
                    level.part.help))
                return
        if len(sources) == 1:
            self.unknown_column(identifier, name, sources[0], candidates)
            return
        self.problem(
            UNKNOWN_COLUMN.code,
            _no_column_message(name, sources),
            name,
            identifier,
            _suggest(name, candidates),
            sources,
        )

    def using_column(self, identifier: exp.Identifier, left: list[_Source], right: _Source | None) -> None:
        name = _fold(identifier)
        if right is not None and right.known and name not in right.columns:
            self.unknown_column(identifier, name, right, right.columns)
            return
        if left and all(s.known for s in left) and not any(name in s.columns for s in left):
            if len(left) == 1:
                self.unknown_column(identifier, name, left[0], left[0].columns)
            else:
                candidates = tuple(n for s in left for n in s.columns if n is not None)
                self.problem(UNKNOWN_COLUMN.code, _no_column_message(name, left), name, identifier,
                             _suggest(name, candidates), left)

    def missing_qualifier(self, column: exp.Column, scope: _Scope) -> None:
        qualifier_node = column.args["table"]
        qualifier = _fold(qualifier_node)
        aliases = [a for level in scope.chain() for a in level.named()]
        if any(a.startswith("?") for a in aliases):
            self.silence("an unnamed FROM item is in scope")
            return
        column_name = column.name if isinstance(column.this, exp.Identifier) else "*"
        schema_node = column.args.get("db")
        part = next((level.part for level in scope.chain() if qualifier in level.hidden), None)
        if schema_node is None and part is not None:
            self.problems.append(self.make_problem(
                UNKNOWN_TABLE.code,
                f"`{qualifier}` is in the statement, but {part.where} cannot see it, so "
                f"`{qualifier}.{column_name}` cannot be referenced here",
                f"{qualifier}.{column_name}", qualifier_node, (), part.help))
            return
        if schema_node is not None:
            # `schema.table.col` needs an unaliased FROM item for exactly that relation.
            if any(s.silences for level in scope.chain() for s in level.sources.values()):
                self.silence("schema-qualified column reference to a table not in FROM")
                return
            schema = _fold(schema_node)
            self.problems.append(self.make_problem(
                UNKNOWN_COLUMN.code,
                f"`{schema}.{qualifier}` is not an unaliased table in FROM here, so "
                f"`{schema}.{qualifier}.{column_name}` cannot be resolved",
                f"{schema}.{qualifier}.{column_name}", qualifier_node, (),
                "Qualify the column with the table's alias, or add the table to FROM.",
            ))
            return
        aliased = [
            s.alias for level in scope.chain() for s in level.sources.values()
            if s.relation is not None and s.relation.name == qualifier and s.alias != qualifier
        ]
        if aliased:
            help_text = f"Refer to `{qualifier}` by its alias `{aliased[0]}`."
        else:
            close = _suggest(qualifier, aliases)
            help_text = f"Did you mean `{close[0]}`?" if close else "Add the table to FROM or fix the qualifier."
        self.problems.append(
            self.make_problem(
                UNKNOWN_COLUMN.code,
                f"`{qualifier}` is not a table or alias in scope here, so `{qualifier}.{column_name}` "
                "cannot be resolved",
                f"{qualifier}.{column_name}",
                qualifier_node,
                tuple(aliased) or _suggest(qualifier, aliases),
                help_text,
            )
        )

    # -- problems ------------------------------------------------------------------------

    def unknown_column(
        self, identifier: exp.Identifier, name: str, source: _Source, candidates: Iterable[str | None]
    ) -> None:
        self.problem(
            UNKNOWN_COLUMN.code,
            f"`{source.label}` has no column `{name}`",
            f"{source.subject}.{name}",
            identifier,
            _suggest(name, candidates),
            (source,) if source.stands_for is not None else (),
        )

    def unknown_table(self, identifier: exp.Expression, name: str, schema: str | None, *,
                      span: tuple[int, int] | None = None, named_by: str = "") -> None:
        schemas = (schema,) if schema is not None else self.r.search_path
        if schema is None and _USER in schemas and off_path_hint(self.r.snapshot, name, schemas,
                                                                 self.r.schemas):
            # `search-path` names `"$user"`, the application's role's schema, which the
            # schema source does not record (`validate.search_path`): it may be that one.
            self.silence(f"`{name}` may be in the schema `\"$user\"` names, the application's "
                         "role's, which the schema source does not record")
            return
        shown = schema or (self.r.search_path[0] if self.r.search_path else "public")
        self.problem(
            UNKNOWN_TABLE.code,
            (f"no relation `{name}` in schema `{shown}`" if schema or len(schemas) == 1
             else f"no relation `{name}` in the search path ({', '.join(schemas)})") + named_by,
            f"{shown}.{name}",
            identifier,
            self.r.table_suggestions(name, schemas),
            span=span,
        )
        if schema is None and (hint := off_path_hint(self.r.snapshot, name, schemas,
                                                     self.r.schemas)):
            self.problems[-1] = replace(self.problems[-1], help=hint)

    def unknown_catalog_relation(self, identifier: exp.Identifier, name: str,
                                 schema: str | None) -> None:
        catalog = self.r.catalog
        assert catalog is not None
        where = (f"schema `{schema}`" if schema else
                 f"pg_catalog or the search path ({', '.join(self.r.search_path)})")
        # Only a server of the catalog's version can confirm it (`Problem.catalog_version`).
        self.problem(UNKNOWN_TABLE.code,
                     f"no relation `{name}` in {where} on {majors_text(catalog)}",
                     f"{schema or 'pg_catalog'}.{name}", identifier,
                     _suggest(name, catalog.relations_of(schema or "pg_catalog") or ()),
                     catalog_version=catalog.major)

    def unknown_schema(self, identifier: exp.Identifier, schema: str,
                       relation: str | None = None) -> None:
        candidates = sorted(self.r.schemas)
        self.problem(UNKNOWN_TABLE.code, f"no schema `{schema}` in the database", schema,
                     identifier, _suggest(schema, candidates))
        if relation is not None:
            self.problems[-1] = replace(self.problems[-1], relation=relation)

    def problem(
        self, code: str, message: str, subject: str, identifier: exp.Expression,
        suggestions: tuple[str, ...], sources: Sequence[_Source] = (), *,
        span: tuple[int, int] | None = None, catalog_version: int | None = None,
    ) -> None:
        """Record a problem at `identifier` (or at `span` of the statement), with the first
        suggestion as its help."""
        help_text = f"Did you mean `{suggestions[0]}`?" if suggestions else None
        problem = self.make_problem(code, message, subject, identifier, suggestions, help_text,
                                    span=span)
        if sources:
            problem = replace(problem, sources=tuple((s.stands_for or s).subject
                                                     for s in sources))
        if catalog_version is not None:
            problem = replace(problem, catalog_version=catalog_version)
        self.problems.append(problem)

    def make_problem(
        self, code: str, message: str, subject: str, identifier: exp.Expression,
        suggestions: tuple[str, ...], help_text: str | None, *,
        span: tuple[int, int] | None = None,
    ) -> Problem:
        start, end = span or _span(identifier)
        if self.catalog_read and code == UNKNOWN_COLUMN.code and self.r.catalog is not None:
            # (every shipped version's at once, `major` None: a server of any confirms it)
            major = self.r.catalog.major
            if subject.startswith(("pg_catalog.", "information_schema.")):
                message = f"{message} on {majors_text(self.r.catalog)}"
            return Problem(code, message, subject, start + self.offset,
                           end + self.offset, suggestions, help_text, catalog_version=major)
        return Problem(code, message, subject, start + self.offset, end + self.offset, suggestions, help_text)


_QUERY_NODES = (exp.Select, exp.SetOperation, exp.Subquery, exp.Insert, exp.Update, exp.Delete, exp.Merge)

# How `_Run.expression` treats a node, by its class: the same isinstance tests in the same
# order, made once per class instead of once per node (the walk visits every node).
(_OTHER, _LEAF, _COLUMN, _QUERY, _NAMED_ARGUMENT, _DOT, _IS, _WINDOW, _COLLATE, _CALL,
 _RETURNING_TYPE) = range(11)
_NODE_KINDS: dict[type, int] = {}


def _node_kind(cls: type) -> int:
    if issubclass(cls, exp.Column):
        kind = _COLUMN
    elif issubclass(cls, _QUERY_NODES):
        kind = _QUERY
    elif issubclass(cls, (exp.DataType, exp.Identifier, exp.Literal, exp.Placeholder, exp.Parameter)):
        kind = _LEAF
    elif issubclass(cls, (exp.Kwarg, exp.PropertyEQ)):
        kind = _NAMED_ARGUMENT
    elif issubclass(cls, exp.Dot):
        kind = _DOT
    elif issubclass(cls, exp.Is):
        kind = _IS
    elif issubclass(cls, exp.Window):
        kind = _WINDOW
    elif issubclass(cls, exp.Collate):
        kind = _COLLATE
    elif issubclass(cls, (exp.JSONObject, exp.JSONObjectAgg)):
        kind = _RETURNING_TYPE
    elif issubclass(cls, (exp.Cast, exp.Anonymous)):
        kind = _CALL  # may name a relation in a string: `'t'::regclass`, `nextval('s')`
    else:
        kind = _OTHER
    _NODE_KINDS[cls] = kind
    return kind


# -- helpers -----------------------------------------------------------------------------


# In a search path, the schema named after the session's role; left in a snapshot's path
# by `validate.search_path.applied` when that role is not known.
_USER = "$user"


def off_path_hint(snapshot: SchemaSnapshot, name: str, path: Sequence[str],
                  schemas: Iterable[str] | None = None) -> str | None:
    """The help of an unqualified relation `name` missing from `path` when the schema has one
    of that name in a schema off it (the application's sessions may set another search path:
    AutoMana's asyncpg pools put `user_management` first); None when there is none.

    >>> from dbsafe.schema.model import Relation, SchemaSnapshot
    >>> users = Relation("user_management", "users", "table", ())
    >>> print(off_path_hint(SchemaSnapshot(relations=(users,)), "users", ("public",)))
    `users` is in schema `user_management`, which is not on the search path (public); set search-path or qualify the name.
    """
    # `schemas`: every schema the snapshot knows, when the caller has them at hand.
    known = schemas if schemas is not None else \
        set(snapshot.schemas) | {r.schema for r in snapshot.relations}
    found = sorted(s for s in known if s not in path and snapshot.relation(s, name))
    if not found:
        return None
    where = (f"schema `{found[0]}`, which is" if len(found) == 1 else
             "schemas " + ", ".join(f"`{s}`" for s in found) + ", which are")
    return (f"`{name}` is in {where} not on the search path ({', '.join(path) or 'empty'}); "
            "set search-path or qualify the name.")


def _span(node: exp.Expression) -> tuple[int, int]:
    meta = node.meta if isinstance(node, exp.Identifier) else {}
    if "start" in meta and "end" in meta:
        return int(meta["start"]), int(meta["end"])
    for child in node.walk():
        if isinstance(child, exp.Identifier) and "start" in child.meta:
            return int(child.meta["start"]), int(child.meta["end"])
    return 0, 0


_DML_NODES = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
# Subtrees whose RangeVars are not relations read or written: `SELECT ... INTO new_table`
# names a table to create, `FOR UPDATE OF t` names FROM items.
_NOT_RELATION_USES = frozenset({"intoClause", "lockingClause", "IntoClause", "LockingClause"})


def _named_by_postgresql(sql: str, resolution: Resolution) -> Resolution:
    """`resolution` without the problems about names PostgreSQL's own parser does not see
    in `sql` at all: sqlglot misreads a few rare forms (`x IS NFC NORMALIZED` as a column
    `nfc`, `U&"ti\\0074le"` as a column `u`), and a misreading must never be a finding.

    sqlglot also reads what is not PostgreSQL (Spark SQL's `LATERAL VIEW explode(...)`,
    `BIGINT(180)`): where PostgreSQL's parser rejects the statement as it would be sent (its
    driver placeholders numbered in place), it is a syntax error, never a schema problem, and
    nothing is reported. Kept whole when the placeholders cannot be numbered in place, or
    on a pglast failure other than a syntax error."""
    import json

    from dbsafe.validate.confirm import parse_as_sent

    parsed = parse_as_sent(sql)
    if parsed.rejected is not None:
        return Resolution(UNPARSED, reason=f"PostgreSQL's parser rejects it: {parsed.rejected}")
    if parsed.text is None:
        return resolution
    text = parsed.text
    names: set[str] | None = None

    def read(name: str) -> bool:
        nonlocal names
        if json.dumps(name, ensure_ascii=False) in text:  # as a JSON string: the usual case
            return True
        if names is None:  # escaped some other way: every string of the tree
            names = set()
            stack: list[object] = [json.loads(text)]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    stack.extend(node.values())
                elif isinstance(node, list):
                    stack.extend(node)
                elif isinstance(node, str):
                    names.add(node)
        return name in names

    def named(problem: Problem) -> bool:
        if read(identifier_at(sql, problem.start, problem.end)):
            return True
        # A relation named by a string (`'"T"'::regclass`) is that string, as written.
        return sql[problem.start - 1:problem.start] == "'" and read(
            sql[problem.start:problem.end + 1])

    kept = tuple(p for p in resolution.problems if named(p))
    if len(kept) == len(resolution.problems):
        return resolution
    dropped = len(resolution.problems) - len(kept)
    log.debug("%d problem(s) about names PostgreSQL does not read in %r", dropped, sql)
    return Resolution(UNPARSED, kept,
                      reason="sqlglot misread it: a name it found is not one PostgreSQL reads")


# Statements that name no relation, which sqlglot misreads (`DEALLOCATE name` as a column
# with an alias, `RELEASE SAVEPOINT a` as an error): PostgreSQL's parser tells them apart.
_UTILITY_NODES = frozenset({
    "TransactionStmt", "DeallocateStmt", "DiscardStmt", "ClosePortalStmt", "FetchStmt",
    "CheckPointStmt", "ListenStmt", "UnlistenStmt", "NotifyStmt"})
# DDL, which validate never checks whatever it names (sqlglot's `exp.Create`, `exp.Alter`,
# `exp.Drop`, `exp.Grant`, `exp.Comment`, ...), beside the kinds starting `Create`, `Alter`
# and `Drop` (`CreateFunctionStmt`, `AlterTableStmt`, `DropStmt`): sqlglot refuses some of it
# (`LANGUAGE sql SECURITY DEFINER`, which it reads as MySQL's `SQL SECURITY DEFINER`).
_DDL_NODES = frozenset({
    "IndexStmt", "ViewStmt", "RuleStmt", "DefineStmt", "CompositeTypeStmt", "RenameStmt",
    "GrantStmt", "GrantRoleStmt", "CommentStmt", "SecLabelStmt"})


def _utility_statement(sql: str) -> str | None:
    """The kind (`Deallocate`, `CreateFunction`) of the one statement in `sql` when it is a
    utility statement naming no relation or DDL, as PostgreSQL's parser reads it
    (`pg.parse.sole_statement`); else None. An `ANALYSE t` (the British spelling, which
    sqlglot does not know) is an `ANALYZE`, which validate never checks either, whatever it
    names (`exp.Analyze`).

    >>> _utility_statement("CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER "
    ...                    "AS $$ SELECT 1 $$")
    'CreateFunction'
    >>> _utility_statement("SELECT 1"), _utility_statement("DEALLOCATE q")
    (None, 'Deallocate')
    """
    from dbsafe.pg.parse import sole_statement

    statement = sole_statement(sql)
    kind = type(statement).__name__
    if kind == "VacuumStmt" and not getattr(statement, "is_vacuumcmd", True):
        return "Analyze"
    ddl = kind in _DDL_NODES or (kind.startswith(("Create", "Alter", "Drop"))
                                 and kind.endswith("Stmt"))
    return kind.removesuffix("Stmt") if kind in _UTILITY_NODES or ddl else None


def _named_relations(sql: str) -> list[exp.Table] | None:
    """The relations (not CTEs) one DML statement names, as PostgreSQL's parser reads it.

    Returns sqlglot `Table` nodes whose identifiers carry the spans of the names in `sql`,
    or None when the text is not exactly one SELECT/INSERT/UPDATE/DELETE/MERGE.
    """
    import json

    from pglast.parser import parse_sql_json

    statements = json.loads(parse_sql_json(sql)).get("stmts", [])
    if len(statements) != 1:
        return None
    statement = statements[0].get("stmt", {})
    if next(iter(statement), None) not in _DML_NODES:
        return None
    ctes: set[str] = set()
    found: list[dict] = []
    stack: list[object] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _NOT_RELATION_USES:
                    continue
                # A field typed RangeVar (`UpdateStmt.relation`) holds it unwrapped.
                if key == "RangeVar" or (isinstance(value, dict) and "relname" in value):
                    found.append(value)
                elif key == "CommonTableExpr":
                    ctes.add(value.get("ctename", ""))
                stack.append(value)
    data = sql.encode()
    tables = []
    for rangevar in found:
        name, schema = rangevar.get("relname"), rangevar.get("schemaname")
        if not name or rangevar.get("catalogname") or (schema is None and name in ctes):
            continue
        start = len(data[:rangevar.get("location", 0)].decode("utf-8", "replace"))
        spans = _name_spans(sql, start, [schema, name] if schema else [name])
        identifiers = [exp.Identifier(this=part, quoted=True) for part in ([schema, name] if schema else [name])]
        for identifier, (first, last) in zip(identifiers, spans):
            identifier.meta["start"], identifier.meta["end"] = first, last
        tables.append(exp.Table(this=identifiers[-1], db=identifiers[0] if schema else None))
    return tables


def _name_spans(sql: str, start: int, parts: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each part of a dotted name written at `sql[start:]` (quotes included)."""
    spans = []
    i = start
    for index, part in enumerate(parts):
        if sql[i:i + 1] == '"':
            j = i + 1
            while j < len(sql):
                if sql[j] == '"' and sql[j + 1:j + 2] != '"':
                    break
                j += 2 if sql[j] == '"' else 1
            spans.append((i, j))
        else:
            spans.append((i, i + len(part) - 1))
        i = spans[-1][1] + 1
        if index < len(parts) - 1:
            while i < len(sql) and sql[i] in " \t\r\n.":
                i += 1
    return spans


def _is_predicate_word(node: exp.Expression | None) -> bool:
    """DOCUMENT / NORMALIZED after IS, which sqlglot reads as a column."""
    return (
        isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier)
        and not node.this.quoted and node.this.this.lower() in ("document", "normalized")
    )


def _is_join_tree(node: exp.Expression | None) -> bool:
    """`b JOIN c …` as sqlglot parses a parenthesised join: a FROM item (a table, an
    aliased subquery, LATERAL, VALUES) carrying joins."""
    if isinstance(node, exp.Subquery) and not node.args.get("alias"):
        return _is_join_tree(node.this)
    return isinstance(node, (exp.Table, exp.Subquery, exp.Lateral, exp.Values)) and bool(
        node.args.get("joins"))



def _json_table_columns(function: exp.JSONTable) -> Columns:
    """The columns `JSON_TABLE(... COLUMNS (sku text PATH '$.sku', ...))` (PostgreSQL 17)
    says it returns, in order: a `FOR ORDINALITY` column too, and those of a `NESTED PATH
    ... COLUMNS (...)` in its place; unknown where a definition is something else."""
    columns: list[str | None] = []

    def collect(schema: object) -> bool:
        if not isinstance(schema, exp.JSONSchema) or not schema.expressions:
            return False
        for definition in schema.expressions:
            if not isinstance(definition, exp.JSONColumnDef):
                return False
            nested = definition.args.get("nested_schema")
            if nested is not None:
                if not collect(nested):
                    return False
            elif isinstance(definition.this, exp.Identifier):
                columns.append(_fold(definition.this))
            else:
                return False
        return True

    return tuple(columns) if collect(function.args.get("schema")) else _UNKNOWN


def _alias_columns(alias: exp.TableAlias | None) -> tuple[str, ...]:
    if alias is None:
        return ()
    names = []
    for column in alias.columns:
        identifier = column.this if isinstance(column, exp.ColumnDef) else column
        if isinstance(identifier, exp.Identifier):
            names.append(_fold(identifier))
    return tuple(names)


@dataclass(frozen=True, slots=True)
class _Part:
    """A part of a statement that sees only some of its FROM items (`_Scope.hidden`)."""

    where: str  # "this JOIN's ON"
    help: str


_JOIN_ON = _Part(
    "this JOIN's ON",
    "A JOIN's ON sees only the tables it joins (not earlier comma-separated FROM items, nor "
    "the target of UPDATE, DELETE or MERGE): move the condition to WHERE, or join that table "
    "with JOIN instead of a comma.")
_NOT_MATCHED = _Part(
    "WHEN NOT MATCHED (no target row)",
    "WHEN NOT MATCHED [BY TARGET] sees only the source's columns; WHEN NOT MATCHED BY SOURCE "
    "only the target's.")
_NOT_MATCHED_BY_SOURCE = _Part("WHEN NOT MATCHED BY SOURCE (no source row)", _NOT_MATCHED.help)


def _added(before: dict[str, _Source], scope: _Scope) -> list[str]:
    """The keys of `scope` that are new or changed since `before` (a copy of its sources)."""
    return [key for key, source in scope.sources.items() if before.get(key) is not source]


def _part_scope(scope: _Scope, keys: list[str], part: _Part) -> _Scope:
    """What `part` of a query sees: the items of `keys`, outer queries, nothing else."""
    visible = {key: scope.sources[key] for key in keys if key in scope.sources}
    hidden = {key: source for key, source in scope.sources.items() if key not in visible}
    return _Scope(visible, scope.parent, hidden, part)


def _rename(columns: Columns, names: tuple[str, ...]) -> Columns:
    """Apply a column alias list: the first len(names) columns are renamed.

    >>> _rename(_Exact((None,)), ("n",))          # WITH r(n) AS (SELECT 1 ...)
    ('n',)
    >>> _rename(("id", None), ("x", "y", "z"))    # (SELECT a.id, f.* ...) AS s(x, y, z)
    ('x', 'y', 'z', None)
    """
    if not names:
        return columns
    rest = columns[len(names):]
    if isinstance(columns, _Exact) or None not in columns:
        return names + rest
    # An unknown name may stand for a star over unknown columns: for any number of them.
    return names + rest + (() if None in rest else (None,))


def _output_name(item: exp.Expression, sql: str = "") -> str | None:
    """The column name PostgreSQL gives an unaliased select-list item, when certain.

    `sql` is the text `item` was parsed from: a function call is named as it was written.
    """
    if isinstance(item, exp.Column) and isinstance(item.this, exp.Identifier):
        return _fold(item.this)
    if isinstance(item, exp.Cast) and isinstance(item.this, exp.Column):
        return _output_name(item.this, sql)
    for kind, name in _AGGREGATE_NAMES.items():
        if type(item) is kind:
            return name
    if isinstance(item, exp.Anonymous) and isinstance(item.this, str):
        return _fold(item.this)
    if isinstance(item, (exp.Window, exp.Filter)):  # f(x) OVER (...), f(x) FILTER (...)
        return _output_name(item.this, sql)
    if isinstance(item, exp.Func):
        return _called_name(item, sql)
    return None


def _called_name(call: exp.Func, sql: str) -> str | None:
    """The name a call of a built-in was written with, which PostgreSQL names its column
    after: sqlglot reads `lower(x)` as `Lower` and `now()` as `CurrentTimestamp`, but keeps
    where the name was. SQL's own forms (`TRIM(...)`, `EXTRACT(...)`, `CAST(...)`,
    `POSITION(...)`) carry no name position, and PostgreSQL names some of them otherwise
    (`btrim`, a type's name): None, as for a name written with its schema.

    >>> sql = 'SELECT lower(a), "lower" (a), trim(a), now() FROM t'
    >>> [_called_name(e, sql) for e in sqlglot.parse_one(sql, read="postgres").expressions]
    ['lower', 'lower', None, 'now']
    """
    start, end = call.meta.get("start"), call.meta.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or end >= len(sql):
        return None
    if not sql[end + 1:].lstrip().startswith("("):
        return None
    written = sql[start:end + 1]
    if written.startswith('"'):
        quoted = len(written) > 1 and written.endswith('"')
        return written[1:-1].replace('""', '"') if quoted else None
    return _fold(written)


def _lateral_call(item: exp.Lateral) -> exp.Func | None:
    """The function `LATERAL f(...)` or `LATERAL s.f(...)` calls (sqlglot reads the latter as
    a Dot of the schema and the call, not as the Table a plain FROM item's is)."""
    called = item.this
    if isinstance(called, exp.Dot) and isinstance(called.this, exp.Identifier):
        called = called.expression
    return called if isinstance(called, exp.Func) else None


def _function_name(function: exp.Expr, item: exp.Expression) -> tuple[str | None, str | None]:
    schema_node = item.args.get("db") if isinstance(item, exp.Table) else None
    if isinstance(item, exp.Lateral) and isinstance(item.this, exp.Dot):
        schema_node = item.this.this
    schema = _fold(schema_node) if isinstance(schema_node, exp.Identifier) else None
    if isinstance(function, exp.Anonymous):
        name = function.this
        if isinstance(name, exp.Identifier):
            return _fold(name), schema
        return (_fold(name) if isinstance(name, str) else None), schema
    for kind, name in _FUNC_NAMES.items():
        if type(function) is kind:
            return name, schema
    return None, schema


def _function_result(functions: list[Function], scalar_name: str) -> Columns:
    """Columns of a snapshot function called in FROM; overloads must agree."""
    results: set[Columns] = set()
    for function in functions:
        if function.result_columns:
            results.add(tuple(c.name for c in function.result_columns))
        elif function.returns_composite:
            results.add(_UNKNOWN)
        else:
            results.add((scalar_name,))
    if len(results) != 1:
        return _UNKNOWN
    return results.pop()


def _builtin_result(known: tuple[str, ...], scalar_name: str) -> Columns:
    """Columns of a built-in function called in FROM, from its catalog entry."""
    # A scalar result is named by the alias (or the function); a single OUT parameter's by
    # the parameter, as PostgreSQL names them (`jsonb_array_elements(...) e` has `value`).
    return known or (scalar_name,)


def _is_scalar_type(type_name: str) -> bool:
    base = type_name.split("(")[0].strip()
    return base in _SCALAR_TYPES


def _bare_columns(item: exp.Expression) -> Iterator[exp.Column]:
    """Unqualified columns standing alone in GROUP BY / ORDER BY (also in grouping sets)."""
    if isinstance(item, exp.Column):
        if not item.table and isinstance(item.this, exp.Identifier):
            yield item
    elif isinstance(item, (exp.Tuple, exp.Paren, exp.GroupingSets, exp.Cube, exp.Rollup)):
        for child in item.iter_expressions():
            yield from _bare_columns(child)


def _no_column_message(name: str, sources: list[_Source]) -> str:
    if not sources:
        return f"no column `{name}`: the query reads no table"
    # Same-named tables of two schemas are told apart by their schemas.
    relations_of: dict[str, set[tuple[str, str] | None]] = {}
    for source in sources:
        relations_of.setdefault(source.label, set()).add(source.qualified_as)
    labels = ", ".join(f"`{label}`" for label in dict.fromkeys(
        ".".join(s.qualified_as) if s.qualified_as and len(relations_of[s.label]) > 1
        else s.label for s in sources))
    return f"no table in scope has a column `{name}` (looked in {labels})"


def _suggest(name: str, candidates: Iterable[str | None]) -> tuple[str, ...]:
    """Up to three names close to `name`, a case-only difference first.

    >>> _suggest("patinets", ["patients", "clinics"])
    ('patients',)
    >>> _suggest("displayname", ["DisplayName", "email"])
    ('DisplayName',)
    """
    unique = sorted({c for c in candidates if c is not None and c != name})
    folded = {c.lower(): c for c in unique}
    matches = difflib.get_close_matches(name, unique, n=3, cutoff=0.6)
    if name.lower() in folded and folded[name.lower()] not in matches:
        matches.insert(0, folded[name.lower()])  # "DisplayName" for displayname
    return tuple(matches[:3])


class _NameIndex:
    """Many candidate names (every relation of a schema), indexed for quick suggestions.

    difflib costs ~20 µs per candidate; only names of a plausible length that share the
    first or the last two characters with the misspelling are compared.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.folded = {n.lower(): n for n in self.names}
        self.by_first: dict[str, list[str]] = {}
        self.by_last: dict[str, list[str]] = {}
        for n in self.names:
            self.by_first.setdefault(n[:1], []).append(n)
            self.by_last.setdefault(n[-2:], []).append(n)

    def suggest(self, name: str) -> tuple[str, ...]:
        slack = max(2, len(name) // 3)
        pool = {n for n in (*self.by_first.get(name[:1], ()), *self.by_last.get(name[-2:], ()))
                if n != name and abs(len(n) - len(name)) <= slack}
        matches = difflib.get_close_matches(name, sorted(pool), n=3, cutoff=0.6)
        exact = self.folded.get(name.lower())
        if exact is not None and exact != name and exact not in matches:
            matches.insert(0, exact)  # "Patients" for patients
        return tuple(matches[:3])


# -- public entry point ------------------------------------------------------------------

_CACHE: dict[tuple[int, int | None, int], tuple[SchemaSnapshot, Resolver]] = {}
_CACHE_SIZE = 8


def resolver_for(snapshot: SchemaSnapshot, server_version: int | None = None,
                 catalog: SystemCatalog | None = None) -> Resolver:
    """A cached `Resolver` for this snapshot object (and target server version, catalog)."""
    key = (id(snapshot), server_version, id(catalog))
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is snapshot and cached[1].catalog is catalog:
        return cached[1]
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    resolver = Resolver(snapshot, server_version, catalog)
    _CACHE[key] = (snapshot, resolver)
    return resolver


def resolve(sql: str, snapshot: SchemaSnapshot, *, server_version: int | None = None,
            catalog: SystemCatalog | None = None, quick: bool = True) -> Resolution:
    """Resolve every table and column reference of one statement against `snapshot`.

    Args:
        sql: one PostgreSQL statement, optionally ending with `;`. Placeholders
            (`%s`, `%(name)s`, `:name`, `$1`, `?`) are fine.
        snapshot: the schema to resolve against.
        server_version: apply this PostgreSQL version's rules (server_version_num, e.g.
            150000); None uses the snapshot's own server version.
        catalog: the columns of `pg_catalog` on the exact version the statement runs on
            (`syscatalog.for_run`); None leaves system catalog columns unchecked.
        quick: False when the caller has already run the quick check (`quick.checker_for`)
            on `sql` and it was not sure.

    Returns:
        A `Resolution`: its status says how far the statement could be checked, its problems
        are references that provably do not resolve.
    """
    return resolver_for(snapshot, server_version, catalog).resolve(sql, quick=quick)


def created_relations(sql: str) -> frozenset[str]:
    """Names of tables and views a `CREATE` statement makes (folded, unqualified).

    Application scripts create temporary or scratch tables and then query them; those names
    are in no snapshot, so the caller treats them as existing with unknown columns.

    >>> sorted(created_relations("CREATE TEMP TABLE Scratch AS SELECT 1 AS n"))
    ['scratch']
    >>> created_relations("SELECT 1")
    frozenset()
    """
    head = sql.lstrip()[:6].upper()
    if head != "CREATE":
        return frozenset()
    try:
        statements = parse_postgres(sql)
    except Exception:  # sqlglot raises more than SqlglotError on some input
        log.debug("sqlglot failed on %r", sql, exc_info=True)
        return frozenset()
    names = set()
    for statement in statements:
        if isinstance(statement, exp.Create) and str(statement.kind or "").upper() in (
            "TABLE", "VIEW"
        ):
            table = statement.this.find(exp.Table) if statement.this else None
            if table is not None and table.name:
                names.add(_fold(table.this) if isinstance(table.this, exp.Identifier) else table.name)
    return frozenset(names)

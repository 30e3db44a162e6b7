"""Migrations that drop or rename what the application's queries still use (DBS211).

A migration that drops `patients.email` is fine once no deployed code reads the column; it
is an outage when a query in the application still does. This module finds those queries by
*differential resolution*, reusing `dbsafe validate`'s extraction and name resolution:

1. `destructive_changes` lists every table, view or column that stops existing under its
   name: `DROP TABLE|VIEW|MATERIALIZED VIEW`, `ALTER TABLE ... DROP COLUMN`,
   `ALTER ... RENAME [COLUMN] a TO b` and `ALTER TABLE|VIEW|MATERIALIZED VIEW ... RENAME TO`.
2. `still_referenced` resolves each application statement twice: against `with_objects`
   (the schema with every removed column present) and `without_objects` (removed columns
   and relations deleted). An unknown-column problem (DBS302) that only the second
   resolution reports exists *because* of a removal: the statement provably uses the
   column. An unknown-table problem (DBS301) naming a removed relation is a use of that
   relation whichever snapshot it comes from (a snapshot taken at head no longer has it).

supabase-js/PostgREST requests in JS/TS files are application queries too: each is checked
(`dbsafe.validate.postgrest`) against both snapshots the same way; a missing column
(DBS302) only the second check reports, or a missing table (DBS301) or embedded resource
(DBS305) named like a removed relation, is a use.

The application's queries are resolved on `search-path` when it is set (the path its
connections set, `validate.search_path.for_application`), the migrations' unqualified names
on the path the snapshot was read with (their sessions').

Validate's policy carries over: unknown means silent. A statement dbsafe cannot parse or
see into yields no problem in either resolution, so it never produces a finding here.

Objects recreated later are not removals. A drop or rename is cancelled when a later
statement of the linted migrations (in the same migration or a later one) creates an object
of the same name again: `CREATE TABLE|VIEW` (a table recreated with an explicit column list
cancels only the column removals it lists again), `ADD COLUMN`, a rename *to* the name (a
rename back, or a compatibility view named after a renamed table). The application sees the
name again once all the linted migrations have run; whether its columns still match is what
`dbsafe validate` checks against the schema at head. Removals of relations created earlier
in the same migration (and of columns it added or renamed into place) are skipped too: no
deployed code can have used them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dbsafe.core import (
    DbsafeError,
    Finding,
    Location,
    RuleInfo,
    Severity,
    Skipped,
    select_findings,
    shortened,
)
from dbsafe.validate.codes import identifier_at

if TYPE_CHECKING:
    from dbsafe.config import Settings
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.extract.javascript import JsValue, PostgrestRequest
    from dbsafe.extract.migration import Migration
    from dbsafe.lint.statement import Statement
    from dbsafe.schema.model import Relation, SchemaSnapshot
    from dbsafe.validate import Problem

log = logging.getLogger(__name__)

RULE_INFO = RuleInfo(
    code="DBS211",
    name="dropped-object-still-referenced",
    summary="A migration drops or renames a table, view or column that the application's "
            "queries still use.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)

DOC = """A migration drops or renames a table, view or column that the application's queries still use.

## Why
A drop or rename commits instantly, and from that moment every deployed query that names the
old object fails. dbsafe finds those queries in your `source-paths` with the same extraction
and name resolution as `dbsafe validate` (SQL in `.sql`, Python and JS/TS files, the
project's own clients and wrappers included, such as a postgres.js client another module
exports, and supabase-js requests: `.from('t').select('col, rel(col)')`, filters, orders,
payload keys): a query is reported only when resolving it against the schema without the object fails
where resolving it with the object succeeds. Its unqualified names are looked up on
`search-path`, the path the application's connections set (`SELECT email FROM users` under
`app, public` reads `app.users`), else on the schema source's; the migration's own on the
path its session has.

## Bad
```sql
ALTER TABLE patients DROP COLUMN email;  -- app/repo.py still runs SELECT email FROM patients
```

## Good
```sql
-- release 1 stops using patients.email; a later migration drops it:
ALTER TABLE patients DROP COLUMN email;
```

## In Alembic
The same for `op.drop_column`, `op.drop_table`, `op.alter_column(..., new_column_name=...)`
and `op.rename_table`: remove the application's use first (expand/contract).

## Not flagged
Objects created earlier in the same migration, or created again under the same name by a
later linted migration; queries dbsafe cannot parse or see into (dynamic SQL), and those
that do not spell the removed name out in their own file (a name split across two string
literals: only files holding a removed name are read for queries); statements `dbsafe
validate` leaves for running on another schema than today's, such as a migration test's
sent before an upgrade to a named revision (also through a function of the project that
makes it: Renku's `run_migrations_for_app("common", "1ef98b967767")`) or after a
downgrade, and those of the `setup-sql` files (an ordinary test's queries are still
uses: they break too); what validate sends elsewhere than this schema: another
application's code (a folder keeping migrations of its own), another engine's scripts
(sqlc's `engine: sqlite`, a `.sql` file a shell script runs with `sqlite3`, a D1 script)
and requests through a client of another Supabase project; `ALTER TABLE
... RENAME` of an index or a sequence, where the migrations or the database's schema say
what the name is (PostgreSQL renames what it is; `ALTER INDEX ... RENAME` of a table is a
table's rename, and flagged). When no schema
can be built to resolve the queries against, DBS211 does not run and the summary line says
so (`warning: DBS211: ...`).
"""

# How many using queries a finding lists; the rest are counted.
MAX_LISTED = 10
_IN_MESSAGE = 3


@dataclass(frozen=True, slots=True)
class SchemaRemoval:
    """A table, view or column that stops existing under its name at `location`.

    Names are folded the way PostgreSQL folds them (unquoted lower-cased, quoted exact).
    """

    schema: str | None  # as written in the migration; None when unqualified
    relation: str
    column: str | None  # None: the relation itself is removed
    kind: str  # "table" | "view" | "materialized view" | "column"
    location: Location
    renamed_to: str | None = None  # the new name for a rename, None for a drop
    revision: str | None = None
    statement: str = ""  # the migration statement's SQL

    @property
    def name(self) -> str:
        """How messages name the object: `patients.email`, `billing.invoices`."""
        parts = [p for p in (self.schema, self.relation, self.column) if p]
        return ".".join(parts)

    @property
    def what_happens(self) -> str:
        return f"renamed to `{self.renamed_to}`" if self.renamed_to else "dropped"


@dataclass
class Application:
    """The application's SQL and a schema to resolve it against, each loaded on first use.

    Loading is deferred because it is only needed when a migration removes something:
    most lint runs never pay for scanning the sources or loading a schema.
    """

    # Given the words a use must spell out (`removed_words`), the statements of the files
    # that hold one of them: no other file can use what is removed.
    load_fragments: Callable[[frozenset[str]], Sequence[SqlFragment | PostgrestRequest]]
    load_snapshot: Callable[[], SchemaSnapshot]
    # The snapshot with the search path the application's sessions set (`search-path`,
    # `validate.search_path.for_application`): its queries' unqualified names are looked up
    # there, while the migrations' own keep the path the snapshot was read with.
    on_search_path: Callable[[SchemaSnapshot], SchemaSnapshot] | None = None


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    queries: int = 0  # application statements looked at


def enabled(settings: Settings) -> bool:
    """Whether `select`/`ignore` keep DBS211 (when they do not, nothing is loaded)."""
    probe = Finding(RULE_INFO.code, "", RULE_INFO.default_severity)
    return bool(select_findings([probe], select=settings.select, ignore=settings.ignore))


def check(migrations: Sequence[Migration], app: Application, *,
          renames: Mapping[tuple[Location, str], str] | None = None) -> Outcome:
    """DBS211 findings for `migrations`, loading the application only if something is removed.

    `renames`: what lint found each `ALTER TABLE|INDEX ... RENAME` of another kind of
    relation renames (see `destructive_changes`).
    """
    removals = destructive_changes(migrations, renames=renames)
    if not removals:
        return Outcome()
    try:
        snapshot = app.load_snapshot()
        fragments = app.load_fragments(removed_words(removals))
    except DbsafeError as exc:
        # Lint must still work for projects without a schema source; say what was skipped.
        where = removals[0].location
        return Outcome(skipped=[Skipped(where, f"application references not checked: {exc}")])
    path = app.on_search_path(snapshot).search_path if app.on_search_path is not None else None
    return Outcome(still_referenced(removals, fragments, snapshot, search_path=path),
                   queries=len(fragments))


# -- what the migrations remove ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Created:
    """A relation or column that (re)appears under a name."""

    schema: str | None
    relation: str
    column: str | None = None
    columns: frozenset[str] | None = None  # a relation's columns, None when unknown


def destructive_changes(migrations: Sequence[Migration], *,
                        renames: Mapping[tuple[Location, str], str] | None = None,
                        ) -> list[SchemaRemoval]:
    """Every drop or rename of a table, view or column, in order (see the module docstring).

    `ALTER TABLE x RENAME TO y` renames whatever `x` is, an index too, and `ALTER INDEX`
    a table: `renames` says, by the statement's (location, SQL), what lint's history and
    the database's schema know such a statement renames (`lint_migration(renames=)`).

    Example:
        >>> from dbsafe.extract.migration import Migration, MigrationStatement
        >>> sql = "ALTER TABLE patients DROP COLUMN email"
        >>> m = Migration("0006.sql", (MigrationStatement(sql, Location("0006.sql", 3)),))
        >>> [(r.name, r.location.line) for r in destructive_changes([m])]
        [('patients.email', 3)]
    """
    from dbsafe.lint.engine import parse_migration, resolve_rename

    pending: list[SchemaRemoval] = []
    for migration in migrations:
        # Nothing is removed or recreated without one of these words: skip parsing most
        # migrations (creations matter only once something is removed). A cheap filter
        # on the raw text, never a reading of it: the parser decides.
        words = _CHANGING_WORDS if pending else _REMOVING_WORDS
        if not any(_has_word(s.sql, words) for s in migration.statements if not s.generated):
            continue
        created_here: list[_Created] = []
        for statement in parse_migration(migration):
            if statement.generated:
                continue
            if renames and statement.rename is not None:
                resolve_rename(statement, renames.get((statement.location, statement.sql)))
            for event in _events(statement, migration):
                if isinstance(event, _Created):
                    pending = [r for r in pending if not _recreates(event, r)]
                    created_here.append(event)
                elif not any(_created_by(c, event) for c in created_here):
                    pending.append(event)
    return pending


_REMOVING_WORDS = ("DROP", "RENAME")
_CHANGING_WORDS = ("DROP", "RENAME", "CREATE", "ADD")


def may_remove(statements: Iterable[str]) -> bool:
    """Whether any of these statements may drop or rename something: the raw-text filter
    `destructive_changes` starts with, for deciding cheaply whether DBS211 may need a
    schema (false means it finds nothing to check; true decides nothing)."""
    return any(_has_word(sql, _REMOVING_WORDS) for sql in statements)


def _has_word(sql: str, words: tuple[str, ...]) -> bool:
    upper = sql.upper()
    return any(word in upper for word in words)


def _same_relation(created: _Created, removal: SchemaRemoval) -> bool:
    # An unqualified name may mean either schema: matching it cancels more, never less.
    return created.relation == removal.relation and (
        created.schema is None or removal.schema is None or created.schema == removal.schema)


def _created_by(created: _Created, removal: SchemaRemoval) -> bool:
    """Whether `removal` removes something `created` made (earlier in the same migration)."""
    if created.column is None:
        return _same_relation(created, removal)
    return _recreates(created, removal)


def _recreates(created: _Created, removal: SchemaRemoval) -> bool:
    if not _same_relation(created, removal):
        return False
    if removal.column is None:
        return created.column is None
    if created.column is not None:
        return created.column == removal.column
    return created.columns is None or removal.column in created.columns


def _events(statement: Statement, migration: Migration) -> Iterator[SchemaRemoval | _Created]:
    """Removals and creations of one statement, in the order they happen."""
    remove = _removal_factory(statement, migration)
    kind = statement.kind
    if kind == "DropStmt" and statement.object_kind in _RELATION_KINDS:
        label = _RELATION_KINDS[statement.object_kind or ""]
        for name in statement.dropped:
            schema, _, relation = name.rpartition(".")
            yield remove(schema or None, relation, None, label)
    elif kind == "RenameStmt" and statement.rename is not None:
        rename = statement.rename
        if not rename.relation or rename.relation_kind not in _RELATION_KINDS:
            return
        schema, _, relation = rename.relation.rpartition(".")
        if rename.object == "column":
            yield remove(schema or None, relation, rename.old, "column", rename.new)
            yield _Created(schema or None, relation, column=rename.new)
        elif rename.object == rename.relation_kind:
            yield remove(schema or None, relation, None,
                         _RELATION_KINDS[rename.relation_kind], rename.new)
            yield _Created(schema or None, rename.new)
    elif kind == "AlterTableStmt" and statement.object_kind in _RELATION_KINDS:
        schema, _, relation = (statement.relation or "").rpartition(".")
        for action in statement.actions:
            if action.subtype == "DropColumn" and action.name:
                yield remove(schema or None, relation, action.name, "column")
            elif action.subtype == "AddColumn" and action.column is not None:
                yield _Created(schema or None, relation, column=action.column.name)
    elif statement.creates and kind in ("CreateStmt", "CreateForeignTableStmt", "ViewStmt",
                                        "CreateTableAsStmt"):
        name = statement.relation or ""
        schema, _, relation = name.rpartition(".")
        columns: frozenset[str] | None = None
        node = statement.node.get("base", statement.node)
        node = node.get("CreateStmt", node)
        if kind in ("CreateStmt", "CreateForeignTableStmt") and not (
                node.get("inhRelations") or node.get("partbound") or node.get("ofTypename")
                or any("TableLikeClause" in e for e in node.get("tableElts") or ())):
            columns = frozenset(c.name for c in statement.columns)
        yield _Created(schema or None, relation, columns=columns)


_RELATION_KINDS = {"table": "table", "foreign table": "table", "view": "view",
                   "materialized view": "materialized view"}


def _removal_factory(statement: Statement, migration: Migration) -> Callable[..., SchemaRemoval]:
    def remove(schema: str | None, relation: str, column: str | None, kind: str,
               renamed_to: str | None = None) -> SchemaRemoval:
        return SchemaRemoval(schema, relation, column, kind, statement.location, renamed_to,
                             migration.revision, statement.sql)

    return remove


# -- who still uses it -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Use:
    location: Location  # where the query names the object
    sql: str


class _Schemas:
    """The snapshot variants resolution compares, and what each removal resolves to.

    A migration's unqualified names are resolved on the path the snapshot was read with
    (the migrations' sessions'); the application's queries on `search_path` (its own
    sessions', `search-path`) when given."""

    def __init__(self, removals: Sequence[SchemaRemoval], snapshot: SchemaSnapshot,
                 search_path: Sequence[str] | None = None) -> None:
        from dbsafe.schema.model import replace

        self.snapshot = snapshot
        # removal -> (schema, relation) it names in this snapshot
        self.keys = {r: _snapshot_key(snapshot, r) for r in removals}
        self.path = tuple(search_path) if search_path is not None else snapshot.search_path
        # An unqualified name the application's queries miss is reported in this schema.
        self.default_schema = self.path[0] if self.path else "public"
        self.columns = [r for r in removals if r.column is not None
                        and snapshot.relation(*self.keys[r]) is not None]
        self.relations = [r for r in removals if r.column is None]
        with_objects = _edit(snapshot, self.keys, add=self.columns)
        if self.path != snapshot.search_path:
            with_objects = replace(with_objects, search_path=self.path)
        self.with_objects = with_objects
        self.without_objects = _edit(self.with_objects, self.keys, drop=self.columns,
                                     drop_relations={self.keys[r] for r in self.relations})
        self._without_one: dict[SchemaRemoval, SchemaSnapshot] = {}
        self.words = removed_words(removals)

    def without_one(self, removal: SchemaRemoval) -> SchemaSnapshot:
        cached = self._without_one.get(removal)
        if cached is None:
            cached = self._without_one[removal] = _edit(self.with_objects, self.keys,
                                                        drop=[removal])
        return cached

    def qualified(self, removal: SchemaRemoval) -> str:
        schema, relation = self.keys[removal]
        return ".".join(p for p in (schema, relation, removal.column) if p)


def removed_words(removals: Iterable[SchemaRemoval]) -> frozenset[str]:
    """The names, lower-cased, a statement must spell out to use one of `removals`: a
    removed column's own name, a removed or renamed relation's name."""
    return frozenset((r.column or r.relation).lower() for r in removals)


def _edit(snapshot: SchemaSnapshot, keys: Mapping[SchemaRemoval, tuple[str, str]], *,
          add: Iterable[SchemaRemoval] = (), drop: Iterable[SchemaRemoval] = (),
          drop_relations: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
          ) -> SchemaSnapshot:
    from dbsafe.schema.model import Column, replace

    added: dict[tuple[str, str], list[str]] = {}
    dropped: dict[tuple[str, str], set[str]] = {}
    for removal in add:
        added.setdefault(keys[removal], []).append(removal.column or "")
    for removal in drop:
        dropped.setdefault(keys[removal], set()).add(removal.column or "")
    relations: list[Relation] = []
    for relation in snapshot.relations:
        key = (relation.schema, relation.name)
        if key in drop_relations:
            continue
        columns = list(relation.columns)
        for name in added.get(key, ()):
            if relation.column(name) is None:
                position = max((c.position for c in columns), default=0) + 1
                columns.append(Column(name, "unknown", position))
        if key in dropped:
            columns = [c for c in columns if c.name not in dropped[key]]
        if columns != list(relation.columns):
            relation = replace(relation, columns=tuple(columns))
        relations.append(relation)
    return replace(snapshot, relations=tuple(relations))


def _snapshot_key(snapshot: SchemaSnapshot, removal: SchemaRemoval) -> tuple[str, str]:
    """The (schema, relation) a removal names: an unqualified one on the path the snapshot
    was read with, the migrations' sessions'."""
    if removal.schema is not None:
        return (removal.schema, removal.relation)
    found = snapshot.find_relation(removal.relation)
    default = snapshot.search_path[0] if snapshot.search_path else "public"
    return (found.schema, found.name) if found else (default, removal.relation)


def still_referenced(removals: Sequence[SchemaRemoval],
                     fragments: Iterable[SqlFragment | PostgrestRequest],
                     snapshot: SchemaSnapshot, *,
                     search_path: Sequence[str] | None = None) -> list[Finding]:
    """One DBS211 finding per removal that application statements still use.

    Args:
        removals: from `destructive_changes`.
        fragments: the application's SQL statements and supabase-js requests
            (`dbsafe.extract`); dynamic SQL is skipped, since its text is not known, and so
            is whatever part of a request is not a literal.
        snapshot: the schema, before or after the migrations: removed columns missing from
            it are added back for the comparison. The migrations' unqualified names are
            looked up on its search path.
        search_path: the one the application's sessions set (`search-path`, as
            `validate.search_path.applied` gives it), where its queries' unqualified names
            are looked up; None: the snapshot's.

    Returns:
        Findings located at the migration statement that removes the object, listing the
        queries (file:line:col of the reference) that use it.
    """
    from dbsafe.extract.javascript import PostgrestRequest as PostgrestRequestType
    from dbsafe.validate import created_relations

    if not removals:
        return []
    schemas = _Schemas(removals, snapshot, search_path)
    uses: dict[SchemaRemoval, dict[tuple[str, int, int], _Use]] = {}
    created: dict[str, frozenset[str]] = {}
    for fragment in fragments:
        if isinstance(fragment, PostgrestRequestType):
            if not any(word in text.lower() for text in _literals(fragment)
                       for word in schemas.words):
                continue
            for removal, where in _request_references(fragment, schemas):
                query = (fragment.path, fragment.location.line, fragment.location.column)
                uses.setdefault(removal, {}).setdefault(query, _Use(where, _describe(fragment)))
            continue
        if fragment.dynamic:
            continue
        created[fragment.path] = created.get(fragment.path, frozenset()) | created_relations(
            fragment.sql)
        lowered = fragment.sql.lower()
        # A reference spells the name out: statements that do not are never resolved.
        if not any(word in lowered for word in schemas.words):
            continue
        for removal, offset in _references(fragment.sql, schemas, created[fragment.path]):
            query = (fragment.path, fragment.line, fragment.column)
            uses.setdefault(removal, {}).setdefault(
                query, _Use(fragment.location(offset), fragment.sql))
    return [_finding(r, list(uses[r].values()), schemas) for r in removals if r in uses]


def _references(sql: str, schemas: _Schemas,
                created: frozenset[str]) -> Iterator[tuple[SchemaRemoval, int]]:
    from dbsafe.validate import UNKNOWN_COLUMN, UNKNOWN_TABLE, resolve

    without = resolve(sql, schemas.without_objects).problems
    if not without:
        return
    with_spans = {(p.code, p.start, p.end) for p in resolve(sql, schemas.with_objects).problems}
    for problem in without:
        name = identifier_at(sql, problem.start, problem.end)
        if problem.code == UNKNOWN_TABLE.code:
            if name in created:
                continue  # a temporary table the file creates itself
            for removal in schemas.relations:
                if _names_relation(problem, name, removal, schemas):
                    yield removal, problem.start
        elif problem.code == UNKNOWN_COLUMN.code and (
                problem.code, problem.start, problem.end) not in with_spans:
            column_removal = _column_removal(sql, problem, name, schemas)
            if column_removal is not None:
                yield column_removal, problem.start


def _request_references(request: PostgrestRequest,
                        schemas: _Schemas) -> Iterator[tuple[SchemaRemoval, Location]]:
    """The removals a supabase-js request uses, with where it names each."""
    from dbsafe.validate import postgrest

    without = postgrest.check(request, schemas.without_objects).issues
    if not without:
        return
    present = {(i.finding.code, i.finding.location)
               for i in postgrest.check(request, schemas.with_objects).issues}
    for issue in without:
        finding = issue.finding
        if finding.location is None:
            continue
        if finding.code == _UNKNOWN_COLUMN and (finding.code, finding.location) not in present:
            for removal in schemas.columns:
                if schemas.qualified(removal) == finding.subject:
                    yield removal, finding.location
        elif finding.code in (_UNKNOWN_TABLE, _UNKNOWN_EMBED) and finding.subject:
            # `public.patients`, or `public.appointments->patients` for an embedded resource:
            # a use of the removed relation whichever snapshot reports it (at head it is gone).
            if finding.code == _UNKNOWN_TABLE:
                schema, _, name = finding.subject.rpartition(".")
            else:
                origin, _, name = finding.subject.partition("->")
                schema = origin.rpartition(".")[0]
            for removal in schemas.relations:
                if schemas.keys[removal] == (schema, name):
                    yield removal, finding.location


_UNKNOWN_TABLE, _UNKNOWN_COLUMN, _UNKNOWN_EMBED = "DBS301", "DBS302", "DBS305"


def _literals(request: PostgrestRequest) -> Iterator[str]:
    """Every literal string of a request: names a reference must spell out."""
    from dbsafe.extract.fragment import SqlFragment
    from dbsafe.extract.javascript import JsArray, JsObject, JsOther

    def walk(value: JsValue) -> Iterator[str]:
        if isinstance(value, SqlFragment):
            yield value.sql
        elif isinstance(value, JsOther):
            for option in value.options:  # `full ? 'a, b' : 'a'`: each is sent
                yield option.sql
        elif isinstance(value, JsObject):
            for key, item in zip(value.keys, value.values):
                yield key.sql
                yield from walk(item)
        elif isinstance(value, JsArray):
            for item in value.items:
                yield from walk(item)

    for call in request.calls:
        for argument in call.arguments:
            yield from walk(argument)


def _describe(request: PostgrestRequest) -> str:
    """A request as a line of the finding's context: `.from('t').select('a, b').eq('c', …)`."""
    from dbsafe.extract.fragment import SqlFragment

    def shown(value: JsValue) -> str:
        if isinstance(value, SqlFragment):
            return "'" + value.sql + "'"
        return "…"

    prefix = f".schema('{request.schema.sql}')" if request.schema is not None else ""
    return prefix + "".join(f".{c.method}({', '.join(shown(a) for a in c.arguments)})"
                            for c in request.calls)


def _names_relation(problem: Problem, name: str, removal: SchemaRemoval,
                    schemas: _Schemas) -> bool:
    schema, relation = schemas.keys[removal]
    if name != relation:
        return False
    shown = problem.subject.rsplit(".", 1)[0]
    # An unqualified reference is reported in the first schema of the search path.
    return shown == schema or (shown == schemas.default_schema and schema in schemas.path)


def _column_removal(sql: str, problem: Problem, name: str,
                    schemas: _Schemas) -> SchemaRemoval | None:
    from dbsafe.validate import resolve

    candidates = [r for r in schemas.columns if r.column == name]
    exact = [r for r in candidates if problem.subject == schemas.qualified(r)]
    if len(exact) == 1:
        return exact[0]
    # Reported through an alias, a CTE or several tables in scope: find which removal,
    # on its own, makes this very reference unresolvable.
    for removal in candidates:
        alone = resolve(sql, schemas.without_one(removal)).problems
        if (problem.code, problem.start, problem.end) in {(p.code, p.start, p.end) for p in alone}:
            return removal
    return None


def _finding(removal: SchemaRemoval, uses: list[_Use], schemas: _Schemas) -> Finding:
    uses.sort(key=lambda u: (u.location.path, u.location.line, u.location.column))
    shown = [f"`{_where(u.location)}`" for u in uses[:_IN_MESSAGE]]
    more = len(uses) - len(shown)
    by = ", ".join(shown) + (f" and {more} more {'query' if more == 1 else 'queries'}"
                             if more else "")
    context: tuple[tuple[str, str], ...] = ()
    if removal.revision:
        context += (("Revision", removal.revision),)
    context += tuple(("Query", f"{_where(u.location)}: {shortened(u.sql, 200)}")
                     for u in uses[:MAX_LISTED])
    if len(uses) > MAX_LISTED:
        context += (("More queries", f"{len(uses) - MAX_LISTED} more not shown"),)
    if removal.renamed_to:
        help_text = ("Keep the old name working until no deployed code uses it (expand/contract), "
                     "or rename it in a later release.")
    else:
        help_text = "Remove the application's use first (expand/contract), or drop it in a " \
                    "later release."
    return Finding(
        code=RULE_INFO.code,
        message=f"`{removal.name}` is {removal.what_happens} here but still used by {by}.",
        severity=RULE_INFO.default_severity,
        location=removal.location,
        subject=schemas.qualified(removal),
        help=help_text,
        context=context,
    )


def _where(location: Location) -> str:
    return f"{location.path}:{location.line}:{location.column}"



# -- the application's statements --------------------------------------------------------


def application_fragments(settings: Settings, migrations: Sequence[Migration] = (),
                          words: frozenset[str] | None = None,
                          ) -> list[SqlFragment | PostgrestRequest]:
    """The SQL statements and supabase-js requests in `settings.source_paths`, migration
    files left out.

    `words` (lower-cased names, `removed_words`): only files whose text holds one of them
    are read for statements. `still_referenced` resolves no statement that spells none of
    them out, and a statement's text comes from its own file (a module's constants, a
    file's `const` strings), so the other files cannot change a finding; extracting them
    was most of a lint run on a large application (keep: 3.7 s for 1,426 files, 15
    statements).

    Migration files (and the folders holding them) are not application code: a data
    migration's `UPDATE` of a column a later revision drops ran long ago. Nor are other
    migrations than those linted (a history's revisions for another dialect, an older
    folder): any file `migration_kind` names one is left out. Nor are the revert and
    verify scripts of a Sqitch project whose deploy scripts are linted.

    The files are read as `dbsafe validate` reads them (`validate.scan.application_reader`),
    so that DBS211 looks at the statements validate checks, no more, no fewer. Python with
    the project-wide indexes: a migration test's statement sent before a project
    function's upgrade to a named revision (Renku's `run_migrations_for_app("common",
    "1ef98b967767")`) is on an earlier schema for both; a string handed to a function
    that parses it with sqlglot and never sends it is no query. JS/TS with the project's
    names: drizzle's tables and `sql`, knex and Kysely clients, a postgres.js client
    another module exports (``db`SELECT ...` `` where it is imported), the project's
    wrappers of a driver call. Left out as validate leaves them: another application's
    code (a folder keeping migrations of its own, when those linted are not its), another
    engine's scripts (sqlc's `engine: sqlite`, a D1 script, a `.sql` file a shell script
    runs with `sqlite3`), requests through a client of another Supabase project. The
    `setup-sql` files are no application code either.
    """
    from dbsafe.extract.files import (
        DEFAULT_MAX_BYTES,
        FolderNames,
        ProjectFiles,
        extract_file,
    )
    from dbsafe.extract.migration import migration_kind
    from dbsafe.extract.sqitch import script_folders
    from dbsafe.sources import OtherApplications
    from dbsafe.validate.scan import application_reader

    root = settings.project_root.resolve()
    paths = [p for p in (root / s for s in settings.source_paths) if p.exists()]
    if not paths:
        return []
    files = {m.file.resolve() for m in migrations if m.file is not None}
    folders = {f.parent for f in files} - {root}
    files |= {Path(f).resolve() for f in settings.setup_sql}  # (their folders are not)
    folders |= script_folders(folders, root) - {root}  # Sqitch's revert and verify scripts
    # Bytes lower-case ASCII only: a name with other letters leaves every file read.
    needles = None if words is None or not all(w.isascii() for w in words) \
        else [w.encode() for w in words]
    fragments: list[SqlFragment | PostgrestRequest] = []
    walk = ProjectFiles(paths, root=root, exclude=settings.exclude)
    # The application is the linted migrations' (validate's is its schema source's): code
    # in a folder keeping migrations of its own reads another schema.
    home = _migrations_home(migrations)
    folder_names = FolderNames()
    reader = application_reader(
        settings, walk, schema_folder=home,
        other_applications=OtherApplications(home, root, folder_names) if home else None,
        names=folder_names)
    for name_at, name in walk.files:
        path = Path(name_at)
        resolved = path.resolve()
        # `folder in resolved.parents` builds every parent for each folder: with prisma's
        # hundreds of migration folders that was most of a lint run (cal.com: 2 min of 2m20).
        if resolved in files or not folders.isdisjoint(resolved.parents):
            continue
        try:
            data: bytes | None = path.read_bytes()
        except OSError:
            data = None  # extract_file reads it again and says what is wrong with it
        if migration_kind(name, data or b"") is not None:
            continue
        if data is not None and needles is not None and len(data) <= DEFAULT_MAX_BYTES:
            lowered = data.lower()  # once per file, not once per removed name
            if not any(needle in lowered for needle in needles):
                continue
        if reader.other_engine(name_at) is not None \
                or reader.other_application(name_at) is not None:
            continue
        # What was read serves extract_file too (above its size limit, it skips the file).
        extracted = extract_file(path, root=root, js_names=reader.js_names, name=name,
                                 data=data if data is not None and len(data) <= DEFAULT_MAX_BYTES
                                 else None, py_parsers=reader.py_parsers,
                                 py_migrations=reader.py_migrations,
                                 py_clients=reader.py_clients)
        fragments.extend(extracted.fragments)
        fragments.extend(r for r in getattr(extracted, "requests", ())  # .js/.ts files
                         if reader.other_project(r) is None)
    return fragments


def _migrations_home(migrations: Sequence[Migration]) -> Path | None:
    """The folder holding the linted migrations' files (their common one), None without
    files."""
    folders = {str(m.file.resolve().parent) for m in migrations if m.file is not None}
    if not folders:
        return None
    try:
        return Path(os.path.commonpath(sorted(folders)))
    except ValueError:  # (different drives)
        return None

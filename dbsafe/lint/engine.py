"""The lint engine: parse migration statements, keep the history they build, run the rules.

Rules stay tiny because the engine does the common work once:

* parse each statement with PostgreSQL's own grammar (`dbsafe.lint.statement`), and read the
  statements a `DO` block runs as statements of their own;
* emit DBS001 for a statement PostgreSQL's parser rejects, with PostgreSQL's message at the
  position it names — "could not be analysed" is a finding, never a silent pass;
* track the transaction state (alembic's BEGIN/COMMIT, `autocommit_block()`, explicit
  BEGIN/COMMIT in SQL files, a runner that wraps each file);
* keep the history the migrations build as they go (`History`): relations created, each
  column's type and NOT NULL-ness, validated NOT NULL proofs, the session's time zone,
  which table an index belongs to, types renamed, user functions and their volatility,
  each table's foreign keys —
  carried from one migration of a history to the next, and falling back to the schema
  before the migrations when one is known — so a rule sees the schema as it stands before
  its statement;
* select rules by code or prefix.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, Location, RuleInfo, Severity, shortened
from dbsafe.lint.fills import filled_by
from dbsafe.lint.statement import (
    FUNCTION_BODY,
    Action,
    Constraint,
    ForeignKey,
    IndexDef,
    Lookup,
    Node,
    Statement,
    TypeName,
    collation_name,
    constraint,
    declared_strict,
    do_block_constants,
    do_block_statements,
    expression_columns,
    function_body_statements,
    function_names,
    function_volatility,
    index_reads,
    inlined_volatility,
    is_plain_column,
    last,
    later_session_settings,
    lookup_of,
    never_immutable,
    never_inlined,
    parse_statement,
    partition_key_columns,
    partition_parent,
    range_var,
    same_relation,
    setting_changes,
    string_constants,
    strings,
    type_name,
    unread_function,
)
from dbsafe.pg.names import index_name, object_name
from dbsafe.pg.throwaway import scratch
from dbsafe.pg.types import changes_index_order, rewrites, type_from_text

if TYPE_CHECKING:
    from dbsafe.extract.migration import Migration
    from dbsafe.lint.row_changes import RowChanges
    from dbsafe.schema.model import Constraint as Constraint_
    from dbsafe.schema.model import Index, Relation, SchemaSnapshot

UNPARSED_DOC = """PostgreSQL's parser rejects a migration statement.

## Why
dbsafe parses migration SQL with libpg_query, the parser PostgreSQL itself runs. A statement
it rejects is one PostgreSQL would refuse too: the migration fails when it reaches it, and
no rule could check what it meant to do. The message and the position are PostgreSQL's own.

## Bad
```sql
ALTER TABLE orders ADD COLUMN (((;
```

## Good
```sql
ALTER TABLE orders ADD COLUMN note text;
```

## In Alembic
The rendered SQL of an `op.execute("...")` call is checked the same way; the finding points
at the revision and shows the statement.

A statement holding a NUL byte (0x00, a damaged file) is reported too: no client can send it
whole (libpq ends the statement at the byte, psql the line), so what follows it never runs.

## Not flagged
Every statement PostgreSQL's grammar accepts, including ones no rule looks at. Whether the
objects a statement names exist is not checked here (see DBS211 and `dbsafe validate`).
"""

UNPARSED = RuleInfo(
    code="DBS001",
    name="statement-rejected-by-parser",
    summary=UNPARSED_DOC.splitlines()[0],
    default_severity=Severity.ERROR,
    since="0.1.0",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """A lint rule: a module's docstring (its docs) plus a pure check function.

    `check` runs once per statement; `check_migration` (optional) once per migration, for
    rules about the migration as a whole (a missing downgrade, missing timeouts).
    """

    code: str
    name: str
    severity: Severity
    since: str
    doc: str
    check: Callable[[Statement, LintContext], Iterable[Finding]] | None = None
    check_migration: Callable[[LintContext], Iterable[Finding]] | None = None
    default_enabled: bool = True
    # What the rule's findings claim that PostgreSQL can confirm while the statement runs on
    # a throwaway server: "rewrite" (the subject's table gets a new relfilenode), "lock" (the
    # statement locks the subject -- a table, `table.column`'s table, an index or a view --
    # in the mode the lock table predicts for it, which blocks writes at least).
    claim: str | None = None
    # The statement kinds (`Statement.kind`) `check` can flag; None: any. The engine calls
    # `check` only for these, which keeps a history's thousands of statements cheap
    # (tests/lint/test_engine.py holds every rule to its list over every fixture).
    kinds: frozenset[str] | None = None
    # What the harm of a finding grows with, for `lint --database-url`'s weighing
    # (`dbsafe.lint.run._weigh`): "size" -- a lock or a rewrite that lasts longer the larger
    # the table (an error is a warning on a small table, a note on one the database does not
    # have yet); "use" -- rows, or deployed code, a table the database does not have yet
    # cannot hold (a note there); "rows" -- work on every row of the table (DBS140): a
    # note, a warning on a table of at least `large-table`; None: neither (PostgreSQL
    # refuses the statement whatever the size, or the cost outlives the migration), never
    # weighed.
    weighed_by: str | None = None

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0].strip()

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.code, self.name, self.summary, self.severity, self.since)


# -- the history a migration builds ----------------------------------------------------


@dataclass(slots=True)
class ColumnFacts:
    """What is known about a column at some point of the migration."""

    type: TypeName | None = None  # None: unknown
    not_null: bool | None = False  # None: unknown (only the type was seen changing)
    identity: bool = False  # values come from a sequence (serial, identity, nextval default)
    added_here: bool = False  # added by this migration (CREATE TABLE, ADD COLUMN)
    collation: str | None = None  # None: the type's default collation
    generated: str | None = None  # "stored" | "virtual" for a generated column
    # The type (its unqualified name) the column's DEFAULT was written for, None without a
    # default or when not known. A type change keeps the default, cast to the new type but
    # still of the old one: `DROP TYPE old CASCADE` then drops it (pg_depend, PostgreSQL 18).
    default_of: str | None = None
    # The sequence (unqualified) the column's DEFAULT takes numbers from: a serial's
    # `<table>_<column>_seq`, or `nextval('s')`; None when it has none or it is not known.
    # `DROP SEQUENCE s CASCADE` drops that DEFAULT (DBS212 names it).
    sequence: str | None = None


@dataclass
class DomainFacts:
    """What lint needs of a domain: adding a column of it rewrites the table when the domain
    has a constraint or a volatile default, and changing a column to it when it has a
    constraint (PostgreSQL 18, verified with `pg_relation_filenode`)."""

    base: TypeName | None
    default: Node | None = None  # the DEFAULT expression; None without one
    constraints: set[str] = field(default_factory=set)  # CHECK constraints, by name
    not_null: bool = False

    @property
    def constrained(self) -> bool:
        return self.not_null or bool(self.constraints)

    def add(self, con: Constraint, domain: str) -> None:
        """Record a constraint of CREATE DOMAIN or ALTER DOMAIN ... ADD."""
        if con.kind == "default":
            self.default = con.expression
        elif con.kind == "not_null":
            self.not_null = True
        elif con.kind == "check":
            name, n = con.name or f"{domain}_check", 0
            while name in self.constraints:  # PostgreSQL numbers unnamed ones the same way
                n += 1
                name = f"{domain}_check{n}"
            self.constraints.add(name)


_UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal",
                        "etc/universal", "uct", "etc/uct", "gmt0", "etc/gmt0"})


# The context title of the table a finding about another object locks (`LintContext.finding`).
TABLE_CONTEXT = "Table"


class ForeignKeys:
    """The foreign keys the history knows: table (`schema.name`, `History.table_key`) -> key
    name -> the key (None: dropped here), and by the unqualified name of the table they
    reference, the tables that hold one, so the keys to a table are found without reading
    every table's (a drop asks; DHIS2's base schema has 473 tables). Every key stored goes
    through `put`, which notes it there: a table stays noted once its key is dropped or it
    is renamed (`to` reads the key itself). Keyed by schema: `public.kids` and `other.kids`
    hold keys of their own, to `public.parents` and `other.parents` (task 537)."""

    __slots__ = ("_holding", "_of")

    def __init__(self) -> None:
        self._of: dict[str, dict[str, ForeignKey | None]] = {}
        self._holding: dict[str, set[str]] = {}  # referenced (unqualified) -> tables

    def __contains__(self, table: object) -> bool:
        return table in self._of

    def __iter__(self) -> Iterator[str]:
        return iter(self._of)

    def of(self, table: str) -> Mapping[str, ForeignKey | None]:
        """The keys the history holds of `table` (`schema.name`), dropped ones as None."""
        return self._of.get(table, {})

    def put(self, table: str, name: str, fk: ForeignKey | None) -> None:
        """Key `name` of `table` (`schema.name`) is `fk` now (None: dropped)."""
        self._of.setdefault(table, {})[name] = fk
        if fk is not None:
            self._holding.setdefault(last(fk.referenced), set()).add(table)

    def hold(self, table: str, name: str, fk: ForeignKey) -> None:
        """Key `name` of `table`, read from the schema before, unless the history has it."""
        if name not in self._of.get(table, {}):
            self.put(table, name, fk)

    def none(self, table: str) -> None:
        """`table` was created or dropped here: it has no key but those put since."""
        self._of[table] = {}

    def table_renamed(self, old: str, new: str) -> None:
        """The keys of table `old` are table `new`'s (`schema.name` both; those to it:
        `History._foreign_keys_renamed`), its schema written where it was."""
        if old in self._of:
            keys = self._of.pop(old)
            self._of[new] = {}
            for name, fk in keys.items():
                self.put(new, name, fk and dataclasses.replace(
                    fk, table=new if "." in fk.table else last(new), table_key=new))

    def every(self) -> list[tuple[str, str, ForeignKey]]:
        """(table, name, key) of each key the history holds."""
        return [(table, name, fk) for table, keys in self._of.items()
                for name, fk in keys.items() if fk is not None]

    def holding(self, referenced: str) -> set[str]:
        """The tables that may hold a key to tables named `referenced` (unqualified): every
        one that does, and perhaps some whose key was dropped or follows a rename."""
        return self._holding.get(referenced, set())

    def to(self, referenced: str) -> list[tuple[str, str, ForeignKey]]:
        """(table, name, key) of each key the history holds to table `referenced`
        (`schema.name`; a key whose table's schema is not known, to any of the name)."""
        return [(table, name, fk) for table in self.holding(last(referenced))
                for name, fk in self._of.get(table, {}).items()
                if fk is not None and same_relation(fk.referenced, referenced)]


@dataclass
class History:
    """The schema facts earlier statements of the migration established.

    Tables are keyed by their unqualified name, for one table of that name at a time: the
    one of the schema `schemas` names. When a statement works on another schema's table of
    the name (`app.users`, then `public.users`), what the history held of the first is
    forgotten (`switch_schema`): the second is read from the database, or unknown, never
    taken for the first.
    """

    columns: dict[str, dict[str, ColumnFacts]] = field(default_factory=dict)
    not_null_proofs: dict[str, set[str]] = field(default_factory=dict)  # table -> columns
    pending_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, name) -> column
    # Tables whose NOT VALID `CHECK (col IS NOT NULL)` of the schema before are in
    # `pending_checks` (`LintContext._hold_checks`), from the first statement on them.
    checks_held: set[str] = field(default_factory=set)
    index_tables: dict[str, str] = field(default_factory=dict)  # index -> table
    # index -> the schema it lies in (its table's), of those in `index_tables` where known:
    # `index_schema` says whether a name of a statement is that one.
    index_schemas: dict[str, str] = field(default_factory=dict)
    index_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # plain ones
    # unique index or PRIMARY KEY/UNIQUE constraint -> (its table, its INCLUDE columns), of
    # those built here with INCLUDE: `DROP COLUMN` of one with CASCADE drops it (DBS212)
    included: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # index -> its `IndexDef.lookup`: what `table_indexes` holds for it
    index_lookups: dict[str, Lookup] = field(default_factory=dict)
    # Tables created here -> what a foreign key's lookup can use each of their indexes for
    # (primary key and unique constraints too; none a lookup cannot use); a table not in it
    # has indexes nobody saw built.
    table_indexes: dict[str, list[Lookup]] = field(default_factory=dict)
    # Other tables (the database's, or made where this cannot follow) -> the same for the
    # indexes the migrations built on them: added to what the database shows it had.
    indexes_added: dict[str, list[Lookup]] = field(default_factory=dict)
    # Indexes the migrations dropped (names): the database's own no longer cover anything
    # (one built again under the name is among the migrations' own, `indexes_added`).
    indexes_dropped: set[str] = field(default_factory=set)
    partitioned: set[str] = field(default_factory=set)  # tables created PARTITION BY
    # Tables with an index built here on an expression or with a WHERE: a type change that
    # keeps the rows still rebuilds it when it uses the column (DBS127).
    value_indexed: set[str] = field(default_factory=set)
    # table -> the columns those indexes' keys and WHERE read (`statement.index_reads`)
    value_index_reads: dict[str, set[str]] = field(default_factory=dict)
    # Each such index not dropped since (one built without a name under the name PostgreSQL
    # gives it, `_index_name`) -> the columns it reads (its table: `index_tables`): which
    # ones a type change of a column rebuilds (DBS127).
    value_index_columns: dict[str, frozenset[str]] = field(default_factory=dict)
    # Tables with an EXCLUDE constraint added here: its index is in no `table_indexes`.
    excluding: set[str] = field(default_factory=set)
    default_partitions: dict[str, str | None] = field(default_factory=dict)  # parent -> it
    # table -> the tables that inherit from it or are its partitions, made here (child ->
    # "inherits" | "partition"): an ALTER TABLE without ONLY locks them too.
    children: dict[str, dict[str, str]] = field(default_factory=dict)
    relations: set[str] = field(default_factory=set)  # created (unqualified), indexes too
    # Temporary relations created (unqualified): the migration's session's own, which no
    # other session sees and which hold only rows that session put there.
    temporary: set[str] = field(default_factory=set)
    # Domains created here, by `schema.name`: the schema written, or the first of the
    # search_path in force (`domain_key`).
    domains: dict[str, DomainFacts] = field(default_factory=dict)
    # Enum, composite and range types created here and not dropped since, by `schema.name`
    # (`type_key`): no column outside the history can use one (DBS212 names what CASCADE
    # would drop).
    types: set[str] = field(default_factory=set)
    timezone_utc: bool = False
    # The search_path a migration's SET (or set_config) gave its session, and a SET LOCAL's
    # until its transaction ends: None for the server's (`"$user", public`).
    search_path: tuple[str, ...] | None = None
    local_search_path: tuple[str, ...] | None = None
    # The search_path of the session the database's schema was read with, where there is
    # one (`LintContext`): an unqualified name's schemas before any SET (`lookup_path`).
    default_path: tuple[str, ...] | None = None
    # The database's schema before the migrations linted (`LintContext.before`), where there
    # is one: the relations an unqualified name finds on the search_path (`table_key`).
    database: SchemaSnapshot | None = field(default=None, repr=False)
    # What the `ALTER DATABASE ... SET search_path` / `ALTER ROLE ... SET search_path` the
    # history ran store for the sessions that start later, by scope (`later_session_settings`:
    # "database", "all", "role <name>") -> the path (None: not known, `FROM CURRENT`).
    stored_paths: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    # The search_path the session of the statements now read started with, where stored
    # ones decide it (`start_path`): `()` when lint cannot tell which (a role's, of a role
    # the migrations may not run as).
    session_path: tuple[str, ...] | None = None
    # User function -> the schemas the history created one of that name in.
    function_schemas: dict[str, set[str]] = field(default_factory=dict)
    # User function, by `schema.name` (the schema written, or the first of the search_path
    # in force) -> its volatility (`function_volatility`).
    functions: dict[str, str] = field(default_factory=dict)
    # User function -> (its schema, each `CREATE FUNCTION` of that name here), replaced ones
    # too: a call is never IMMUTABLE when each of them is one of the schemas it may call
    # (`LintContext.never_immutable_function`).
    function_definitions: dict[str, list[tuple[str, Statement]]] = field(default_factory=dict)
    # User functions, by `schema.name`, an `ALTER FUNCTION` gave a search_path of their own
    # (True: `SET search_path`) or took it away (False: a qualified `RESET search_path` or
    # `RESET ALL`) since their last `CREATE FUNCTION`, whose own SET clause counts
    # otherwise (DBS142). Any overload: which one, lint does not tell.
    function_search_paths: dict[str, bool] = field(default_factory=dict)
    # Tables created here: how they are stored ("logged", "access method", "tablespace" ->
    # value), so a SET LOGGED / ACCESS METHOD / TABLESPACE to what they have is no rewrite.
    storage: dict[str, dict[str, str]] = field(default_factory=dict)
    checks: dict[str, dict[str, bool]] = field(default_factory=dict)  # table -> CHECK -> valid
    # table -> CHECK -> the columns its expression names (as `checks`, by the same names)
    check_columns: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    # Partitioned tables created here -> the columns their partition key names.
    partition_keys: dict[str, frozenset[str]] = field(default_factory=dict)
    # Tables a migration renamed a column of: the names the schema before (or a CHECK's
    # columns, a partition key) gives them may be stale.
    columns_renamed: set[str] = field(default_factory=set)
    # table -> the columns the migrations dropped and have not added (or renamed to) since:
    # a later `DROP COLUMN IF EXISTS` of one drops nothing (`LintContext._drop_absent_columns`).
    columns_dropped: dict[str, set[str]] = field(default_factory=dict)
    # Tables a plain CREATE TABLE made here (no LIKE, INHERITS, PARTITION OF, OF type or IF
    # NOT EXISTS), whose every column the history has seen since -> the schema the CREATE
    # named ("" for none). Lost when the table inherits or is attached as a partition (its
    # parent's ADD COLUMN reaches it), and at SQL lint cannot read (a DO block building SQL,
    # CALL, a statement that did not parse): a `DROP COLUMN IF EXISTS` of a column it lacks
    # drops nothing (`LintContext._drop_absent_columns`).
    whole: dict[str, str] = field(default_factory=dict)
    # table -> foreign key name -> it (None: dropped here), over the schema before, and the
    # tables holding keys to each table; `fk_tables`: tables created or dropped here, whose
    # every foreign key is known. Both by `schema.name` (`table_key`).
    foreign_keys: ForeignKeys = field(default_factory=ForeignKeys)
    fk_tables: set[str] = field(default_factory=set)
    # table -> its primary key and unique constraints: name -> (kind, columns), None when
    # dropped here; over the schema before's, as `foreign_keys`.
    unique_keys: dict[str, dict[str, tuple[str, tuple[str, ...]] | None]] = field(
        default_factory=dict)
    # tables renamed: old -> new, by `schema.name` (`table_key`)
    renamed: dict[str, str] = field(default_factory=dict)
    # Tables the migrations renamed, by the name they have now -> the name (as the first
    # rename wrote it) the schema before gives them, "" for one renamed away or made here:
    # the schema before's relation of that name is not it (`LintContext.before_relation`).
    origins: dict[str, str] = field(default_factory=dict)
    # Name of `origins` -> the schema of the table it speaks of, where known: another
    # schema's table of the name, written with its schema, is the database's own (the
    # migrations renamed `public.kids` away, not `other.kids`; task 537).
    origin_schemas: dict[str, str] = field(default_factory=dict)
    # Relations the migrations dropped (or dropped the schema of, with CASCADE) are "" there
    # too: a relation made again under the name is theirs.
    # Tables the migrations moved to another schema (SET SCHEMA), by their name now -> the
    # schema they lie in: the schema before's relation is not named in the one it left.
    moved: dict[str, str] = field(default_factory=dict)
    # Sequences of the schema before the migrations moved to another schema (ALTER SEQUENCE
    # ... SET SCHEMA, or with the table that owns them), by their name -> the schema they
    # lie in now (`LintContext.relation_kind`).
    moved_sequences: dict[str, str] = field(default_factory=dict)
    # table (its name now) -> column the migrations renamed: its name in the schema before
    # -> its name now.
    column_names: dict[str, dict[str, str]] = field(default_factory=dict)
    # Relation (unqualified) -> the schema it lies in -> its kind (`RELATION_KINDS`), for
    # those the migrations created or renamed; "" for a name they dropped or renamed away.
    # `ALTER TABLE ... RENAME` renames any of them (`resolve_rename`). An unqualified name
    # is the one of the first schema of the search_path holding one (`kind_of`).
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    # Relation (unqualified) -> its schema -> its kind, for each the migrations created,
    # kept when they drop it and passed on when they rename it: what is new, whatever
    # became of it.
    created_kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    # Relations (unqualified) of `created_kinds` a statement since their creation may have
    # filled with rows it does not count -> what did, "`INSERT ... SELECT` at
    # `path:line`" (`dbsafe.lint.fills`): `--database-url` cannot tell how large such a
    # table is when a later statement locks or rewrites it (`dbsafe.lint.run._weigh`).
    # `filled_changes` counts the changes (`lint_migration` copies it once per change).
    filled: dict[str, str] = field(default_factory=dict)
    filled_changes: int = 0
    # Schemas the migrations dropped with CASCADE -> the relations (unqualified) made since
    # that may lie in them: any other of theirs is gone (graphile/starter's `DROP SCHEMA
    # app_public CASCADE`, then `DROP TABLE IF EXISTS app_public.x`).
    emptied: dict[str, set[str]] = field(default_factory=dict)
    # table -> (name, None when unnamed; key columns) of each CREATE UNIQUE INDEX a foreign
    # key could rest on (plain columns, no WHERE) seen here.
    unique_indexes: dict[str, list[tuple[str | None, tuple[str, ...]]]] = field(
        default_factory=dict)
    # Table (unqualified) -> the schema of the table whose facts the history holds under
    # that name (`switch_schema`).
    schemas: dict[str, str] = field(default_factory=dict)
    # The columns marked `added_here` since the last `carry()` (not every column of the
    # history: carrying it across 300 revisions stays linear).
    added: list[ColumnFacts] = field(default_factory=list, repr=False)
    # What the transaction still open at the end of the last migration linted holds, when
    # the next one runs in it too (`Migration.shares_transaction`: a runner applying every
    # pending file in one transaction): the locks on existing tables, as (the statement
    # that took it, table, mode), and the relations (unqualified) it created, which nobody
    # else sees before its COMMIT (`dbsafe.lint.transactions.open_at_end`).
    open_locks: tuple[tuple[Statement, str, str], ...] = ()
    open_created: frozenset[str] = frozenset()

    def carry(self) -> History:
        """This history as the next migration starts: what earlier migrations built, with no
        column counted as added by the migration being linted."""
        for facts in self.added:
            facts.added_here = False
        self.added.clear()
        self.local_search_path = None  # (the migration's transaction ended)
        if self.stored_paths:
            # (the next migration runs in a session of its own wherever it meets rows: on
            # a database the earlier ones reached in an earlier deploy, a session started
            # with what they stored; only a fresh database runs them in one)
            self.session_path = self.stored_path()
        return self

    def new_session(self) -> None:
        """The statements read from here run in a session of their own (the migrations after
        `setup-sql`): it starts with the search_path the history stored for later sessions
        (`ALTER DATABASE ... SET`, `ALTER ROLE ... SET`), not the one a SET gave the last."""
        self.search_path = self.local_search_path = None
        if self.stored_paths:
            self.session_path = self.stored_path()

    def stored_path(self) -> tuple[str, ...]:
        """The search_path a session started now has, by what the history stored
        (`stored_paths`), as PostgreSQL applies them (`pg_db_role_setting`: a role's over the
        database's over `ALTER ROLE ALL`'s over the server's): `()` when the migrations'
        role decides it (a role's setting, offline no role is known) and the candidates
        differ, or a value is not known."""
        stored = self.stored_paths
        base = stored["database"] if "database" in stored else stored["all"] \
            if "all" in stored else self.start_path(stored=False)
        candidates = [base, *(path for scope, path in stored.items()
                              if scope.startswith("role "))]
        known = [path for path in candidates if path is not None]
        if len(known) < len(candidates):
            return ()
        return known[0] if all(_same_path(known[0], path) for path in known) else ()

    def start_path(self, stored: bool = True) -> tuple[str, ...]:
        """The search_path the session started with (`"$user"` left in): the one stored for
        it (`session_path`), else the database's session's, else the server's default."""
        if stored and self.session_path is not None:
            return self.session_path
        return self.default_path if self.default_path is not None else ("$user", "public")

    def _store_path(self, s: Statement) -> None:
        """Note what an `ALTER DATABASE/ROLE ... SET search_path` stores for later
        sessions (`stored_paths`)."""
        from dbsafe.config import split_search_path

        for scope, name, value, known in later_session_settings(s):
            if name == "*":
                self.stored_paths.pop(scope, None)
            elif name == "search_path":
                if known and value is None:
                    self.stored_paths.pop(scope, None)
                else:
                    self.stored_paths[scope] = split_search_path(value) \
                        if value is not None else None

    def search_path_now(self) -> tuple[str, ...]:
        """The schemas of the search_path in force (`"$user"` left in)."""
        path = self.local_search_path if self.local_search_path is not None \
            else self.search_path
        return path if path is not None else self.start_path()

    def database_reached(self) -> None:
        """The database's schema (lint's `before`) holds what the migrations so far did (they
        ran there: its runner's history, its alembic revision says so): the tables they
        renamed have their new names there, so no rename so far leads back to another."""
        self.origins.clear()
        self.origin_schemas.clear()
        self.column_names.clear()
        self.moved_sequences.clear()

    def _new(self, column: Any, table: str) -> ColumnFacts:
        facts = _facts(column, table)
        self.added.append(facts)
        return facts

    def _not_null_proved(self, table: str, con: Any) -> None:
        """A `CHECK (col IS NOT NULL)` written in CREATE TABLE proves `col` NOT NULL: there
        every constraint is valid (PostgreSQL ignores NOT VALID on an empty new table)."""
        column = not_null_check_column(con)
        if column is not None and con.enforced:
            self.not_null_proofs.setdefault(table, set()).add(column)

    def lookup_path(self) -> tuple[str, ...]:
        """The schemas an unqualified name is looked up in now, in order (`"$user"` left
        out): the search_path a SET gave, else the one the session started with
        (`start_path`: one `ALTER DATABASE/ROLE ... SET` stored, the database's session's,
        else PostgreSQL's default `"$user", public`). A name no schema of it holds is
        not another schema's: lint does not know it."""
        path = self.search_path_now() if self.search_path is not None or \
            self.local_search_path is not None else self.start_path()
        return tuple(name for name in path if name != "$user")

    def schema_of(self, name: str, known: dict[str, Any] | None) -> str | None:
        """The schema relation `name` lies in among `known` (schema -> a fact of the
        relations of its last name part): the one written; else the first schema of the
        search_path (`lookup_path`) that `known` holds. None when `known` holds none of
        them."""
        schema = name.rpartition(".")[0]
        if schema:
            return last(schema)
        if not known:
            return None
        return next((s for s in self.lookup_path() if s in known), None)

    def _named_schema(self, known: dict[str, Any] | None, name: str) -> str:
        """The schema of the relation `name` a statement works on, to note a fact of it:
        as `schema_of`; for one `known` does not hold, the first of the search_path."""
        found = self.schema_of(name, known)
        return found if found is not None else self._creation_schema()

    def _table_schema(self, table: str) -> str:
        """The schema of table `table` as a statement names it: the one written, else the
        one whose table the history holds under its name (`schemas`), else the first of the
        search_path."""
        schema = table.rpartition(".")[0]
        return last(schema) if schema else self.schemas.get(table, self._creation_schema())

    def table_key(self, name: str, *, known: bool = False) -> str:
        """Table `name`, as a statement now names it, as `schema.name` (the key of
        `foreign_keys`, `fk_tables`, `renamed`): the schema written; else the first schema
        of the search_path (`lookup_path`) holding a relation of the name, one the
        migrations made, renamed or moved there and did not drop or move away since
        (`kinds`) or the database's (`database`); else the schema the history holds the
        name's facts of (`schemas`), else the first of the search_path. With `known`, a name
        found nowhere stays unqualified (a table of any schema)."""
        schema, _, bare = name.rpartition(".")
        if schema:
            return f"{last(schema)}.{bare}"
        kinds = self.kinds.get(bare)
        database = self.database
        for lies_in in self.lookup_path():
            kind = kinds.get(lies_in) if kinds else None
            if kind or (kind is None and database is not None and
                        database.relation(lies_in, bare) is not None):
                return f"{lies_in}.{bare}"
        if known:
            return bare
        return f"{self.schemas.get(bare) or self._creation_schema()}.{bare}"

    def holder_key(self, fk: ForeignKey) -> str:
        """The key (`table_key`) of the table holding `fk`."""
        return fk.table_key or self.table_key(fk.table)

    def _note_kind_of(self, kinds: dict[str, dict[str, str]], name: str, schema: str,
                      kind: str) -> None:
        """Note relation `name` (unqualified) of `schema` as of `kind`, last noted. (Into a
        new dict: one held by a copy of `kinds`, `lint_migration`'s, stays as it was.)"""
        known = {s: k for s, k in kinds.get(name, {}).items() if s != schema}
        known[schema] = kind
        kinds[name] = known

    def created_kind(self, name: str) -> str | None:
        """The kind the migrations created relation `name` as (`created_kinds`), by the
        schema it resolves to; None for one they did not create."""
        known = self.created_kinds.get(last(name))
        schema = self.schema_of(name, known)
        return known.get(schema) if known and schema is not None else None

    def kind_of(self, name: str) -> str | None:
        """What relation `name` is as the migrations left it: one of `RELATION_KINDS`,
        "" when they dropped it or renamed it away, None when they do not tell. Of the
        schema `name` resolves to (`schema_of`): `CREATE VIEW app.t` says nothing of
        `public.t`."""
        schema, _, bare = name.rpartition(".")
        made_since = self.emptied.get(last(schema)) if schema else None
        if made_since is not None and bare not in made_since:
            return ""
        known = self.kinds.get(bare)
        found = self.schema_of(name, known)
        kind = known.get(found) if known and found is not None else None
        if kind is not None:
            return kind
        if self.index_schema(name) is not None or any(
                keys.get(bare) is not None for keys in self.unique_keys.values()):
            return "index"  # (a primary key's or unique constraint's index has its name)
        return None

    def index_schema(self, name: str) -> str | None:
        """The schema of the index `name` names that the history knows the table of
        (`index_tables`): the schema written, when the index the history holds under its
        name lies there, or (unqualified) when that schema is on the search_path; None
        otherwise."""
        bare = last(name)
        if bare not in self.index_tables:
            return None
        held = self.index_schemas.get(bare)
        if held is None:
            return name.rpartition(".")[0] or "public"  # (where it lies is not known)
        return held if self.schema_of(name, {held: True}) == held else None

    def _note_kind(self, s: Statement) -> None:
        """Follow what kind of relation each name is (`kinds`)."""
        kind = s.kind
        if kind in _CREATED_KINDS:
            created = s.object_kind if kind == "CreateTableAsStmt" else _CREATED_KINDS[kind]
            for name in _as_written(s.creates):
                if name and created:
                    # (an index lies in its table's schema)
                    schema = self._table_schema(s.index_def.table) if s.index_def is not None \
                        and "." not in name else self._table_schema(name) if "." in name \
                        else self._creation_schema()
                    self._note_kind_of(self.kinds, last(name), schema, created)
                    self._note_kind_of(self.created_kinds, last(name), schema, created)
                    self._made_in_emptied(name)
        elif kind == "DropStmt" and s.object_kind in RELATION_KINDS:
            for name in s.dropped:
                self._note_kind_of(self.kinds, last(name),
                                   self._named_schema(self.kinds.get(last(name)), name), "")
        elif kind == "DropStmt" and s.object_kind == "schema" and \
                s.node.get("behavior") == "DROP_CASCADE":
            for schema in s.dropped:
                self.emptied[last(schema)] = set()
        elif kind == "AlterObjectSchemaStmt" and s.node.get("newschema") and \
                s.node.get("objectType") in _MOVED_KINDS:
            # (a relation moved lies in the schema it went to, none in the one it left)
            moved = range_var(s.node.get("relation"))
            if moved:
                bare = last(moved)
                left = self._named_schema(self.kinds.get(bare), moved)
                known = self.kind_of(moved) or _MOVED_KINDS[s.node["objectType"]]
                self._note_kind_of(self.kinds, bare, left, "")
                self._note_kind_of(self.kinds, bare, s.node["newschema"], known)
        elif kind == "RenameStmt" and s.rename is not None and s.rename.relation and \
                s.rename.object in RELATION_KINDS:
            written = s.rename.relation
            old = last(written)
            resolve_rename(s, self.kind_of(written))
            rename = s.rename
            # ALTER TABLE and ALTER INDEX rename other kinds too: only the others say it.
            known = self.kind_of(written) or (
                rename.object if rename.written or rename.object not in _PERMISSIVE else "")
            schema = self._named_schema(self.kinds.get(old), written)
            if known:
                self._note_kind_of(self.kinds, rename.new, schema, known)
            self._note_kind_of(self.kinds, old, schema, "")
            created = self.created_kind(written)
            if created is not None:
                self._note_kind_of(self.created_kinds, rename.new, self._named_schema(
                    self.created_kinds.get(old), written), created)

    def _note_filled(self, s: Statement) -> None:
        """Follow which created relations a statement may have filled (`filled`): a relation
        made (again) under a name starts empty; one renamed keeps what filled it."""
        filled = self.filled
        if not self.created_kinds:
            return  # (nothing made yet that a statement could fill)
        if s.creates and filled and s.kind in _CREATED_KINDS:
            for name in s.creates:
                if filled.pop(last(name), None) is not None:
                    self.filled_changes += 1
        rename = s.rename
        if filled and rename is not None and rename.relation and \
                last(rename.relation) in filled and rename.object in RELATION_KINDS:
            filled[rename.new] = filled.pop(last(rename.relation))
            self.filled_changes += 1
        for table, how in filled_by(s):
            at = f"{how} at `{s.location.path}:{s.location.line}`"
            names = list(self.created_kinds) if table is None else [last(table)] \
                if last(table) in self.created_kinds else []
            for name in names:
                if name not in filled:
                    filled[name] = at
                    self.filled_changes += 1

    def _note_whole(self, s: Statement) -> None:
        """Follow which tables the history knows every column of (`whole`)."""
        whole = self.whole
        if s.error is not None or s.kind == "CallStmt" or (
                s.kind == "DoStmt" and s.unread is not None):
            whole.clear()  # (what it does to a table's columns is unknown)
        elif s.kind == "CreateStmt" and s.relation:
            node = s.node
            if node.get("if_not_exists") or node.get("inhRelations") or \
                    node.get("ofTypename") or node.get("partbound") or any(
                    "TableLikeClause" in element for element in node.get("tableElts") or ()):
                whole.pop(last(s.relation), None)
            else:
                whole[last(s.relation)] = s.relation.rpartition(".")[0]
        elif s.kind == "CreateTableAsStmt":
            for name in s.creates:
                whole.pop(last(name), None)
        elif s.kind == "DropStmt" and s.object_kind == "table":
            for name in s.dropped:
                whole.pop(last(name), None)
        elif s.kind == "RenameStmt" and s.rename is not None and s.rename.relation and \
                s.rename.object in ("table", "foreign table"):
            schema = whole.pop(last(s.rename.relation), None)
            if schema is not None:
                whole[s.rename.new] = schema
        elif s.kind == "AlterObjectSchemaStmt":
            whole.pop(last(range_var(s.node.get("relation")) or ""), None)
        elif s.kind == "AlterTableStmt" and s.relation:
            for action in s.actions:
                if action.subtype == "AddInherit":
                    whole.pop(last(s.relation), None)
                elif action.subtype == "AttachPartition" and action.partition:
                    whole.pop(last(action.partition), None)

    def _note_origin(self, s: Statement, keys: Mapping[str, str]) -> None:
        """Follow which of the schema before's relations each name is (`origins`, `moved`)
        through drops and SET SCHEMA; renames are followed with the rest of a table.
        `keys`: the tables `s` names, as `schema.name` (`_named_tables`)."""
        kind = s.kind
        if kind == "DropStmt" and s.object_kind in RELATION_KINDS:
            for name in s.dropped:
                schema = name.rpartition(".")[0]
                if schema and self.moved.get(last(name), last(schema)) != last(schema):
                    continue  # (another schema's: the one moved is not dropped)
                self.origins[last(name)] = ""
                self._origin_in(last(name), keys.get(name) or name)
                self.moved.pop(last(name), None)
                self.column_names.pop(last(name), None)
        elif kind == "DropStmt" and s.object_kind == "schema" and \
                s.node.get("behavior") == "DROP_CASCADE":
            # (the database's relations still in it are gone: `LintContext.before_origin`)
            for schema in map(last, s.dropped):
                for name in [n for n, lies_in in self.moved.items() if lies_in == schema]:
                    self.origins[name] = ""
                    del self.moved[name]
        elif kind == "AlterObjectSchemaStmt" and s.node.get("objectType") in _MOVABLE and \
                s.node.get("newschema"):
            moved = range_var(s.node.get("relation"))
            if moved:
                self.origins[last(moved)] = self.origins.get(
                    last(moved), "" if last(moved) in self.created_kinds else moved)
                self.moved[last(moved)] = s.node["newschema"]
                self.origin_schemas[last(moved)] = s.node["newschema"]
        elif kind in _CREATED_KINDS and not s.node.get("if_not_exists"):
            for name in s.creates:  # (in the schema it left: no longer the moved one)
                if last(name) in self.moved:
                    self.origins[last(name)] = ""
                    del self.moved[last(name)]

    def _origin_in(self, name: str, table: str) -> None:
        """`origins[name]` speaks of `table` (`schema.name`; unqualified: of any schema)."""
        schema = table.rpartition(".")[0]
        if schema:
            self.origin_schemas[name] = last(schema)
        else:
            self.origin_schemas.pop(name, None)

    def _made_in_emptied(self, name: str) -> None:
        """Note relation `name`, just made, in the emptied schema it names; a name without
        a schema may lie in any of them (the search_path decides)."""
        schema, _, bare = name.rpartition(".")
        for emptied, made in self.emptied.items():
            if not schema or last(schema) == emptied:
                made.add(bare)

    def follow_search_path(self, s: Statement) -> None:
        """Follow the search_path statement `s` leaves in force (its SET, set_config; the
        end of the transaction a SET LOCAL's holds for), and the one an `ALTER DATABASE/ROLE
        ... SET` stores for later sessions."""
        if s.transaction in _ENDS:
            self.local_search_path = None
        if s.kind in _STORES_SETTINGS:
            self._store_path(s)
        if s.kind in _MAY_SET_SEARCH_PATH:
            for name, value, local in setting_changes(s):
                if name in ("search_path", "*"):
                    self._search_path_set(value, local and name != "*", s.in_transaction)

    def apply(self, s: Statement) -> None:
        kind = s.kind
        self.follow_search_path(s)
        # The tables the statement names, as `schema.name` (`table_key`), read before what
        # it does to them is noted (a drop, a rename, a move).
        keys = self._named_tables(s)
        if s.creates and kind in _TEMPORARY_HOLDERS:
            # (a name a permanent relation has too stays that one's: after the migration,
            # on another session or past ON COMMIT DROP, it names the permanent one)
            if temporary_creation(s):
                self.temporary.update(last(name) for name in s.creates
                                      if last(name) not in self.relations)
            else:
                self.temporary.difference_update(last(name) for name in s.creates)
        self.relations.update(last(name) for name in s.creates)
        self._note_kind(s)
        self._note_filled(s)
        self._note_whole(s)
        self._note_origin(s, keys)
        if kind in ("CreateDomainStmt", "AlterDomainStmt"):
            self._domain(s)
            return
        if kind == "CreateFunctionStmt":
            name, volatility = function_volatility(s)
            if name:
                if volatility == "volatile":  # what a call is once PostgreSQL inlines it
                    # (its body's calls looked up on the path in force: the one a call
                    # made in this session inlines it under)
                    path = self.lookup_path()
                    volatility = inlined_volatility(
                        s, lambda called: self.function_volatility(called, path)) or volatility
                schema = _function_schema(s) or self._creation_schema()
                self.functions[f"{schema}.{name}"] = volatility
                self.function_definitions.setdefault(name, []).append((schema, s))
                self.function_schemas.setdefault(name, set()).add(schema)
                # (CREATE OR REPLACE sets the function's settings to its own SET clauses)
                self.function_search_paths.pop(f"{schema}.{name}", None)
            return
        if kind == "AlterFunctionStmt":
            self._function_settings(s)
        if kind in _TYPE_CREATED:
            name = _type_created(s)
            if name:
                self.types.add(name if "." in name else f"{self._creation_schema()}.{name}")
            return
        if kind == "DropStmt" and s.object_kind in ("type", "domain"):
            self._types_dropped(s)
            return
        if kind == "RenameStmt" and s.rename is not None and s.rename.object in (
                "type", "domain"):
            # An enum recreated under its old name: columns keep the renamed type, so a later
            # ALTER COLUMN ... TYPE <old name> is a real type change.
            old, new = last(s.rename.old), s.rename.new
            for table in self.columns.values():
                for facts in table.values():
                    if facts.type is not None and facts.type.name == old:
                        facts.type = dataclasses.replace(facts.type, name=new)
                    if facts.default_of == old:
                        facts.default_of = new
            made = self.type_key(s.rename.old)
            if made is not None:
                self.types.discard(made)
                self.types.add(f"{made.rpartition('.')[0]}.{new}")
            return
        if kind == "CreateStmt" and s.relation:
            if s.node.get("partspec"):
                self.partitioned.add(last(s.relation))
                self.partition_keys[last(s.relation)] = partition_key_columns(
                    s.node["partspec"])
            else:
                self.partition_keys.pop(last(s.relation), None)
            parent = partition_parent(s)
            if parent is not None and (s.node.get("partbound") or {}).get("is_default"):
                self.default_partitions[last(parent)] = last(s.relation)
            for inherited in s.node.get("inhRelations") or ():
                name = range_var(inherited)
                if name:
                    self.children.setdefault(last(name), {})[last(s.relation)] = \
                        "partition" if s.node.get("partbound") else "inherits"
            self.storage[last(s.relation)] = {
                "logged": str((s.node.get("relation") or {}).get("relpersistence") != "u"),
                # what PostgreSQL's defaults give when the server's settings are left alone
                "access method": s.node.get("accessMethod") or "heap",
                "tablespace": s.node.get("tablespacename") or "pg_default"}
            table = self.columns.setdefault(last(s.relation), {})
            self.columns_dropped.pop(last(s.relation), None)  # (a new table of that name)
            for column in s.columns:
                table[column.name] = self._new(column, last(s.relation))
                for con in column.constraints:
                    self._check_added(last(s.relation), con)
                    self._not_null_proved(last(s.relation), con)
            made = keys[s.relation]
            self.foreign_keys.none(made)
            self.fk_tables.add(made)
            self.unique_keys[last(s.relation)] = {}
            for column in s.columns:
                for con in column.constraints:
                    self._key_added(last(s.relation), con, (column.name,))
                    self._foreign_key_added(s.relation, made, con, (column.name,))
            for con in s.constraints:
                self._key_added(last(s.relation), con, con.columns)
                self._foreign_key_added(s.relation, made, con, con.columns)
                self._check_added(last(s.relation), con)
                self._not_null_proved(last(s.relation), con)
                if con.kind in ("primary", "not_null"):
                    for name in con.columns:
                        table.setdefault(name, ColumnFacts()).not_null = True
            if parent is None and not s.node.get("inhRelations") and not any(
                    "TableLikeClause" in element for element in s.node.get("tableElts") or ()):
                # (a partition, a child or a LIKE copy gets indexes this does not show)
                self.table_indexes[last(s.relation)] = [
                    Lookup((c.name,)) for c in s.columns
                    if c.has("primary") or c.has("unique")] + [
                    Lookup(con.columns) for con in s.constraints
                    if con.kind in ("primary", "unique") and con.columns]
            else:
                self.table_indexes.pop(last(s.relation), None)
            self.indexes_added.pop(last(s.relation), None)  # a new table of that name
        elif kind == "AlterTableStmt" and s.relation:
            self._alter(last(s.relation), s, keys[s.relation])
        elif kind == "DropStmt" and s.object_kind == "table":
            for written in s.dropped:
                dropped = last(written)
                self._forget_table(dropped)
                self.children.pop(dropped, None)
                for kids in self.children.values():
                    kids.pop(dropped, None)
                self.foreign_keys.none(keys[written])
                self.unique_keys[dropped] = {}
                self.fk_tables.add(keys[written])
                for holder, name, _ in self.foreign_keys.to(keys[written]):  # CASCADE
                    self.foreign_keys.put(holder, name, None)  # (drops them)
        elif kind == "DropStmt" and s.object_kind == "index":
            for fk in s.keys_to:  # CASCADE dropped the keys resting on it
                self.foreign_keys.put(self.holder_key(fk), fk.name, None)
            names = {last(name) for name in s.dropped}
            for name in names:
                self._index_dropped(name)
            for uniques in self.unique_indexes.values():
                uniques[:] = [unique for unique in uniques if unique[0] not in names]
        elif kind == "RenameStmt" and s.rename is not None:
            rename = s.rename
            table_key = keys.get(rename.relation or "", "")
            own = self.foreign_keys.of(table_key)
            unique = self.unique_keys.get(last(rename.relation or ""), {})
            if rename.object == "constraint" and rename.relation:
                unique = self.unique_keys.setdefault(last(rename.relation), unique)
                renamed_key = own.get(rename.old)
                self.foreign_keys.put(table_key, rename.old, None)
                if renamed_key is not None:
                    self.foreign_keys.put(table_key, rename.new,
                                          dataclasses.replace(renamed_key, name=rename.new))
                if unique.get(rename.old) is not None:
                    unique[rename.new], unique[rename.old] = unique[rename.old], None
                    self._index_renamed(rename.old, rename.new)  # its index goes along
                checks = self.checks.get(last(rename.relation), {})
                if rename.old in checks:
                    checks[rename.new] = checks.pop(rename.old)
                named = self.check_columns.get(last(rename.relation), {})
                if rename.old in named:
                    named[rename.new] = named.pop(rename.old)
                pending = self.pending_checks.pop((last(rename.relation), rename.old), None)
                if pending is not None:  # VALIDATE CONSTRAINT names it by its new name
                    self.pending_checks[(last(rename.relation), rename.new)] = pending
            elif rename.object == "index" and rename.relation:
                # A primary key's or unique constraint's index has the constraint's name,
                # and renaming it renames the constraint (pg_constraint, PostgreSQL 18).
                owner = self._index_renamed(last(rename.relation), rename.new)
                unique = self.unique_keys.get(owner or "", {})
                if unique.get(last(rename.relation)) is not None:
                    unique[rename.new] = unique[last(rename.relation)]
                    unique[last(rename.relation)] = None
            elif rename.object == "column" and rename.relation:
                def renamed(columns: tuple[str, ...]) -> tuple[str, ...]:
                    return tuple(rename.new if c == rename.old else c for c in columns)

                self.columns_renamed.add(last(rename.relation))
                self._column_renamed(last(rename.relation), rename.old, rename.new)
                for name, held in list(own.items()):
                    if held is not None and rename.old in held.columns:
                        self.foreign_keys.put(table_key, name, dataclasses.replace(
                            held, columns=renamed(held.columns)))
                for name, key in unique.items():
                    if key is not None:
                        unique[name] = (key[0], renamed(key[1]))
                for holder, name, fk in self.foreign_keys.to(table_key):
                    self.foreign_keys.put(holder, name, dataclasses.replace(  # (to the column)
                        fk, referenced_columns=renamed(fk.referenced_columns)))
                columns = self.columns.get(last(rename.relation))
                if columns is not None and rename.old in columns:
                    columns[rename.new] = columns.pop(rename.old)
                self.columns_dropped.get(last(rename.relation), set()).discard(rename.new)
                proofs = self.not_null_proofs.get(last(rename.relation))
                if proofs is not None and rename.old in proofs:
                    proofs.discard(rename.old)
                    proofs.add(rename.new)
                for waiting, checked in self.pending_checks.items():
                    if waiting[0] == last(rename.relation) and checked == rename.old:
                        self.pending_checks[waiting] = rename.new
                for indexes in (self.table_indexes.get(last(rename.relation)),
                                self.indexes_added.get(last(rename.relation))):
                    if indexes is not None:
                        indexes[:] = [index.renamed(rename.old, rename.new)
                                      for index in indexes]
                for index, on in self.index_tables.items():
                    if on == last(rename.relation) and index in self.index_lookups:
                        self.index_lookups[index] = self.index_lookups[index].renamed(
                            rename.old, rename.new)
                    reads = self.value_index_columns.get(index)
                    if on == last(rename.relation) and reads and rename.old in reads:
                        self.value_index_columns[index] = reads - {rename.old} | {rename.new}
            elif rename.object in ("table", "foreign table") and rename.relation:
                old = last(rename.relation)
                if old in self.schemas:
                    self.schemas[rename.new] = self.schemas.pop(old)
                self.origins[rename.new] = self.origins.get(
                    old, "" if old in self.created_kinds else rename.relation)
                self.origins[old] = ""
                self._origin_in(old, table_key)
                self._origin_in(rename.new, table_key)
                if old in self.moved:
                    self.moved[rename.new] = self.moved.pop(old)
                if old in self.children:
                    self.children[rename.new] = self.children.pop(old)
                for kids in self.children.values():
                    if old in kids:
                        kids[rename.new] = kids.pop(old)
                if old in self.column_names:
                    self.column_names[rename.new] = self.column_names.pop(old)
                if old in self.columns:
                    self.columns[rename.new] = self.columns.pop(old)
                if old in self.columns_dropped:
                    self.columns_dropped[rename.new] = self.columns_dropped.pop(old)
                if old in self.not_null_proofs:
                    self.not_null_proofs[rename.new] = self.not_null_proofs.pop(old)
                if old in self.storage:
                    self.storage[rename.new] = self.storage.pop(old)
                if old in self.partitioned:
                    self.partitioned.discard(old)
                    self.partitioned.add(rename.new)
                for names in (self.value_indexed, self.excluding):
                    if old in names:
                        names.discard(old)
                        names.add(rename.new)
                if old in self.value_index_reads:
                    self.value_index_reads[rename.new] = self.value_index_reads.pop(old)
                if old in self.default_partitions:
                    self.default_partitions[rename.new] = self.default_partitions.pop(old)
                if old in self.checks:
                    self.checks[rename.new] = self.checks.pop(old)
                if old in self.check_columns:
                    self.check_columns[rename.new] = self.check_columns.pop(old)
                if old in self.partition_keys:
                    self.partition_keys[rename.new] = self.partition_keys.pop(old)
                if old in self.columns_renamed:
                    self.columns_renamed.add(rename.new)
                for waiting in [w for w in self.pending_checks if w[0] == old]:
                    self.pending_checks[(rename.new, waiting[1])] = \
                        self.pending_checks.pop(waiting)
                if old in self.checks_held:
                    self.checks_held.add(rename.new)
                self._foreign_keys_renamed(table_key, rename.new)
                if old in self.unique_keys:
                    self.unique_keys[rename.new] = self.unique_keys.pop(old)
                if old in self.unique_indexes:
                    self.unique_indexes[rename.new] = self.unique_indexes.pop(old)
                for index, table_name in self.index_tables.items():
                    if table_name == old:
                        self.index_tables[index] = rename.new
                for index, (table_name, include) in self.included.items():
                    if table_name == old:
                        self.included[index] = (rename.new, include)
                if old in self.table_indexes:
                    self.table_indexes[rename.new] = self.table_indexes.pop(old)
                if old in self.indexes_added:
                    self.indexes_added[rename.new] = self.indexes_added.pop(old)
        elif kind == "IndexStmt" and s.index_def is not None:
            built, on = s.index_def, last(s.index_def.table)
            # (one built without a name is followed by the name PostgreSQL gives it)
            schema = self._table_schema(built.table)
            name = last(built.name) if built.name else self._index_name(on, schema, built)
            self.index_schemas[name] = schema  # (an index lies in its table's schema)
            if built.unique and built.plain and not built.partial:
                self.unique_indexes.setdefault(on, []).append((name, built.columns))
            if built.lookup.columns:
                self._indexes_of(on).append(built.lookup)
            if not built.plain or built.partial:
                self.value_indexed.add(on)
                self.value_index_reads.setdefault(on, set()).update(index_reads(s.node))
                self.value_index_columns[name] = index_reads(s.node)
            if built.unique and built.include:
                self.included[name] = (on, built.include)
            self.index_tables[name] = on
            self.index_lookups[name] = built.lookup
            if built.plain:
                self.index_columns[name] = built.columns
        elif kind == "AlterObjectSchemaStmt" and s.node.get("objectType") in (
                "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE") and s.node.get("newschema"):
            self._foreign_keys_moved(keys.get(range_var(s.node.get("relation")) or "", ""),
                                     s.node["newschema"])
            self.schemas[last(range_var(s.node.get("relation")) or "")] = s.node["newschema"]
        elif kind in ("VariableSetStmt", "SelectStmt"):
            for name, value, _local in setting_changes(s):
                if name in ("timezone", "*"):
                    self.timezone_utc = value is not None and value.lower() in _UTC_NAMES

    def _named_tables(self, s: Statement) -> dict[str, str]:
        """The tables statement `s` creates, alters, drops, renames or moves, as it writes
        them -> as `schema.name` (`table_key`; one created: in the first schema of the
        search_path)."""
        kind = s.kind
        if kind == "CreateStmt" and s.relation:
            return {s.relation: s.relation if "." in s.relation
                    else f"{self._creation_schema()}.{s.relation}"}
        if kind == "AlterTableStmt" and s.relation:
            return {s.relation: self.table_key(s.relation)}
        if kind == "DropStmt" and s.object_kind == "table":
            return {name: self.table_key(name) for name in s.dropped}
        if kind == "RenameStmt" and s.rename is not None and s.rename.relation:
            return {s.rename.relation: self.table_key(s.rename.relation)}
        if kind == "AlterObjectSchemaStmt":
            moved = range_var(s.node.get("relation"))
            return {moved: self.table_key(moved)} if moved else {}
        return {}

    def _search_path_set(self, value: str | None, local: bool, in_transaction: bool) -> None:
        """SET [LOCAL] search_path: for the session, or until the transaction ends (a SET
        LOCAL outside one does nothing; a session SET ends an earlier SET LOCAL's too)."""
        from dbsafe.config import split_search_path

        path = split_search_path(value) if value is not None else None
        if local:
            if in_transaction:
                self.local_search_path = path if path is not None else self.search_path
            return
        self.search_path = path
        self.local_search_path = None

    def _function_settings(self, s: Statement) -> None:
        """ALTER FUNCTION ... SET search_path / RESET search_path / RESET ALL."""
        names = strings((s.node.get("func") or {}).get("objname"))
        if not names:
            return
        # (unqualified: each schema it may lie in, so that a SET is never missed)
        schemas = {names[-2]} if len(names) > 1 else {
            self._creation_schema(), *self.function_schemas.get(names[-1], ())}
        for item in s.node.get("actions") or ():
            elem = item.get("DefElem", {})
            setting = (elem.get("arg") or {}).get("VariableSetStmt", {})
            if elem.get("defname") != "set" or not setting:
                continue
            keys = [f"{schema}.{names[-1]}" for schema in schemas]
            if setting.get("name") == "search_path" and setting.get("kind") != "VAR_RESET":
                self.function_search_paths.update(dict.fromkeys(keys, True))
            elif len(names) > 1 and (setting.get("kind") == "VAR_RESET_ALL" or
                                     setting.get("name") == "search_path"):
                self.function_search_paths.update(dict.fromkeys(keys, False))

    def _creation_schema(self) -> str:
        """The schema an unqualified CREATE makes its object in: the first schema the
        search_path names (`"$user"` taken as absent, as it usually is; the database's
        session's before any SET, `lookup_path`)."""
        path = self.lookup_path()
        return path[0] if path else "public"

    def _types_dropped(self, s: Statement) -> None:
        """DROP TYPE/DOMAIN: with CASCADE, PostgreSQL drops the columns of the type and the
        defaults written for it too."""
        names = {last(name) for name in s.dropped}
        self.types -= {key for key in map(self.type_key, s.dropped) if key is not None}
        if s.node.get("behavior") != "DROP_CASCADE":
            return
        for table in self.columns.values():
            for column, facts in list(table.items()):
                if facts.type is not None and facts.type.name in names:
                    del table[column]
                elif facts.default_of in names:
                    facts.default_of = None

    def _domain(self, s: Statement) -> None:
        node = s.node
        if s.kind == "CreateDomainStmt":
            names = strings(node.get("domainname"))
            if not names:
                return
            key = f"{names[-2] if len(names) > 1 else self._creation_schema()}.{names[-1]}"
            domain = self.domains[key] = DomainFacts(type_name(node.get("typeName")))
            for item in node.get("constraints") or ():
                domain.add(constraint(item), names[-1])
            return
        names = strings(node.get("typeName"))
        found = self.domain_key(names[-1], names[-2] if len(names) > 1 else None,
                                self.lookup_path()) if names else None
        altered = self.domains.get(found) if found is not None else None
        if altered is None:
            return  # a domain of the schema before: the snapshot's facts stay
        subtype = node.get("subtype")
        if subtype == "T":
            altered.default = node.get("def")
        elif subtype in ("N", "O"):
            altered.not_null = subtype == "O"
        elif subtype == "C" and node.get("def"):
            altered.add(constraint(node["def"]), names[-1])
        elif subtype == "X" and node.get("name"):
            altered.constraints.discard(node["name"])
            if node["name"].endswith("_not_null"):
                altered.not_null = False

    def domain_key(self, name: str, schema: str | None,
                   path: Iterable[str] | None) -> str | None:
        """The key (`domains`) of the domain made here that `name` names: of `schema` when
        written, else of the first schema of `path` holding one; any schema's (public's
        first) without a path. None when the history made none it names. (A
        database's domain of a schema earlier on the path is `LintContext.domain`'s to
        find.)"""
        if schema is not None:
            key = f"{schema}.{name}"
            return key if key in self.domains else None
        if path is not None:
            return next((f"{s}.{name}" for s in path if f"{s}.{name}" in self.domains), None)
        if f"public.{name}" in self.domains:
            return f"public.{name}"
        return next((key for key in self.domains if key.rpartition(".")[2] == name), None)

    def function_volatility(self, name: str,
                            path: Iterable[str] | None = None) -> str | None:
        """The volatility of user function `name` (optionally schema-qualified) made here:
        of the schema written, else of the first schema of `path` the history made one in;
        with no path (none known, or a body, which may run under another), public's, else
        another schema's. None when the history made none `name` reaches."""
        schema, _, bare = name.rpartition(".")
        if schema:
            return self.functions.get(f"{last(schema)}.{bare}")
        schemas = self.function_schemas.get(bare)
        if not schemas:
            return None
        if path is not None:
            found = next((s for s in path if s in schemas), None)
            return self.functions.get(f"{found}.{bare}") if found is not None else None
        return self.functions.get(f"public.{bare}" if "public" in schemas
                                  else f"{min(schemas)}.{bare}")

    def type_key(self, name: str) -> str | None:
        """The key (`types`) of the type made here that `name` (optionally qualified) names:
        of the schema written, else of the first schema of the search_path holding one; any
        schema's (public's first) where no path is known. None when the history made none
        it names."""
        schema, _, bare = name.rpartition(".")
        if schema:
            key = f"{last(schema)}.{bare}"
            return key if key in self.types else None
        made = {key.rpartition(".")[0]: True for key in self.types
                if key.rpartition(".")[2] == bare}
        found = self.schema_of(name, made)
        return f"{found}.{bare}" if found is not None else None

    def has_domain(self, name: str) -> bool:
        """Did the history make a domain `name` (unqualified) in any schema?"""
        return any(key.rpartition(".")[2] == name for key in self.domains)

    def switch_schema(self, table_name: str, schema: str, made: bool = False) -> None:
        """A statement works on table `table_name` of `schema`: when the history holds
        another schema's table of that name, forget what it knew of that one's columns,
        constraints, indexes, storage, keys, children, drop, rename or move (the database's
        facts of this one are read again), and hold this one's from here. A table `made`
        by the statement is none of the database's."""
        held = self.schemas.get(table_name)
        if held is not None and held != schema:
            self._forget_table(table_name)
            self.unique_keys.pop(table_name, None)
            self.children.pop(table_name, None)
            self.whole.pop(table_name, None)
            # (which of the database's tables the name is: the drops, renames and moves
            # followed were the other table's)
            # (foreign keys, `fk_tables` and `renamed` are by schema: they stay)
            for names in (self.origins, self.origin_schemas, self.moved, self.column_names):
                names.pop(table_name, None)
            if made:
                self.origins[table_name] = ""
                self.origin_schemas[table_name] = schema
        self.schemas[table_name] = schema

    def _forget_table(self, table_name: str) -> None:
        """Forget what was known of the columns, constraints, indexes and storage of
        `table_name`, which a migration dropped: a table created again under its name
        starts from what its CREATE says (a CHECK of the dropped one proves nothing of
        the new one's rows)."""
        for facts in (self.columns, self.columns_dropped, self.not_null_proofs, self.table_indexes,
                      self.indexes_added, self.default_partitions, self.storage, self.checks,
                      self.check_columns, self.partition_keys, self.unique_indexes,
                      self.value_index_reads):
            facts.pop(table_name, None)
        for names in (self.checks_held, self.partitioned, self.value_indexed, self.excluding,
                      self.columns_renamed):
            names.discard(table_name)
        for index, on in self.index_tables.items():
            if on == table_name:
                self.value_index_columns.pop(index, None)
        for waiting in [w for w in self.pending_checks if w[0] == table_name]:
            del self.pending_checks[waiting]
        for parent, default in self.default_partitions.items():
            if default == table_name:  # dropping a partition detaches it
                self.default_partitions[parent] = None

    def _foreign_key_added(self, table: str, holder: str, con: Constraint,
                           columns: tuple[str, ...]) -> None:
        """Record a FOREIGN KEY constraint of `table` (as written; `holder`: `schema.name`)
        under the name PostgreSQL gives it, with the table it references as `schema.name`
        where the history or the database holds one of the name on the search_path."""
        if con.kind != "foreign" or not con.references:
            return
        columns = con.columns or columns  # a column's REFERENCES names no column
        name = con.name or self._foreign_key_name(last(table), holder, columns)
        referenced = con.referenced_columns or next(
            (key[1] for key in self.unique_keys.get(last(con.references), {}).values()
             if key is not None and key[0] == "primary"), ())
        self.foreign_keys.put(holder, name, ForeignKey(
            table, name, columns, con.references, referenced, con.enforced,
            not con.not_valid, table_key=holder,
            references_key=self.table_key(con.references, known=True)))

    def _key_added(self, table_name: str, con: Constraint, columns: tuple[str, ...]) -> None:
        """Record a PRIMARY KEY or UNIQUE constraint under the name PostgreSQL gives it."""
        if con.kind == "exclusion":
            self.excluding.add(table_name)
        if con.kind not in ("primary", "unique"):
            return
        if con.using_index:
            columns = self.index_columns.get(last(con.using_index), ())
        else:
            columns = con.columns or columns
        if not columns:
            return
        name = con.name or con.using_index or (
            object_name(table_name, None, "pkey") if con.kind == "primary"
            else object_name(table_name, "_".join(columns), "key"))
        self.unique_keys.setdefault(table_name, {})[last(name)] = (con.kind, columns)
        included = self.included.pop(last(con.using_index), None) if con.using_index else (
            (table_name, con.including) if con.including else None)
        if included is not None:  # (USING INDEX renames the index the constraint's)
            self.included[last(name)] = included

    def _keys_dropped_to(self, table: str, *, column: str | None = None,
                         key: tuple[str, tuple[str, ...]] | None = None) -> None:
        """Forget the foreign keys to `table` (`schema.name`) that reference `column`, or
        rest on `key`: a DROP ... CASCADE of it dropped them, the other tables' and the
        table's own to itself."""
        for holder, name, fk in self.foreign_keys.to(table):
            if (column is not None and column in fk.referenced_columns) or (
                    key is not None and fk.rests_on(*key)):
                self.foreign_keys.put(holder, name, None)

    def _column_renamed(self, table_name: str, old: str, new: str) -> None:
        """Follow column `old` of `table_name`, renamed `new`, to the schema before's column
        it is (`column_names`): none when the schema before's `old` was renamed away."""
        names = self.column_names.setdefault(table_name, {})
        original = next((was for was, now in names.items() if now == old), None)
        if original is None and old not in names:
            original = old
        if original is not None:
            names[original] = new

    def _index_name(self, table: str, schema: str, built: IndexDef) -> str:
        """The name PostgreSQL gives index `built`, built on `table` without a name
        (`<table>_<columns>_idx`, numbered past the relations the history knows: a clash
        with one of the database's it does not know is missed); noted as an index's."""
        name = index_name(table, built.column_names,
                          lambda taken: bool(self.kind_of(f"{schema}.{taken}")))
        self._note_kind_of(self.kinds, name, schema, "index")
        return name

    def _index_renamed(self, old: str, new: str) -> str | None:
        """Follow index `old`, renamed `new`; returns its table when known."""
        table = self.index_tables.pop(old, None)
        if table is not None:
            self.index_tables[new] = table
        if old in self.index_schemas:
            self.index_schemas[new] = self.index_schemas.pop(old)
        if old in self.index_columns:
            self.index_columns[new] = self.index_columns.pop(old)
        if old in self.index_lookups:
            self.index_lookups[new] = self.index_lookups.pop(old)
        if old in self.value_index_columns:
            self.value_index_columns[new] = self.value_index_columns.pop(old)
        if old in self.included:
            self.included[new] = self.included.pop(old)
        for uniques in self.unique_indexes.values():
            uniques[:] = [(new if name == old else name, columns) for name, columns in uniques]
        return table

    def _foreign_key_name(self, table_name: str, key: str, columns: tuple[str, ...]) -> str:
        """ChooseConstraintName's `<table>_<columns>_fkey`, numbered past the names taken
        (only the table's own are known, `key`'s: a clash with another table's is
        missed)."""
        keys = self.foreign_keys.of(key)
        number = 0
        while keys.get(name := object_name(table_name, "_".join(columns),
                                           f"fkey{number or ''}")) is not None:
            number += 1
        return name

    def _foreign_keys_renamed(self, old: str, new: str) -> None:
        """Follow table `old` (`schema.name`), renamed `new` (unqualified), in the foreign
        keys of it and to it."""
        renamed = f"{old.rpartition('.')[0]}.{new}" if "." in old else new
        self.renamed[old] = renamed
        if old in self.fk_tables:
            self.fk_tables.discard(old)
            self.fk_tables.add(renamed)
        self.foreign_keys.table_renamed(old, renamed)
        for holder, name, fk in self.foreign_keys.to(old):
            self.foreign_keys.put(holder, name, dataclasses.replace(
                fk, references=renamed if "." in fk.references else new,
                references_key=renamed if fk.references_key else ""))

    def _foreign_keys_moved(self, table: str, schema: str) -> None:
        """Follow table `table` (`schema.name`), moved to `schema` (SET SCHEMA), in the
        foreign keys of it and to it."""
        moved = f"{schema}.{last(table)}"
        for holder, name, fk in self.foreign_keys.to(table):
            self.foreign_keys.put(holder, name, dataclasses.replace(
                fk, references=moved, references_key=moved))
        if table in self.fk_tables:
            self.fk_tables.discard(table)
            self.fk_tables.add(moved)
        for holder, name, fk in self.foreign_keys.every():
            if holder == table:  # (shown in the schema it went to)
                self.foreign_keys.put(holder, name, dataclasses.replace(fk, table=moved))
        self.foreign_keys.table_renamed(table, moved)

    def _index_dropped(self, name: str) -> None:
        """Forget index `name` among the indexes of its table (one entry of its columns:
        another index on the same columns still counts)."""
        self.indexes_dropped.add(name)
        self.included.pop(name, None)
        self.value_index_columns.pop(name, None)
        table, lookup = self.index_tables.get(name), self.index_lookups.get(name)
        if table is None or lookup is None or not lookup.columns:
            return
        for indexes in (self.table_indexes.get(table), self.indexes_added.get(table)):
            if indexes and lookup in indexes:
                indexes.remove(lookup)
                return

    def note_unread_indexes(self, found: Iterable[tuple[str, Lookup]]) -> None:
        """Note the indexes SQL dbsafe cannot read may have built (`LintContext.
        unread_indexes`) among those of their tables."""
        for table_name, lookup in found:
            indexes = self._indexes_of(table_name)
            if lookup not in indexes:
                indexes.append(lookup)

    def _indexes_of(self, table_name: str) -> list[Lookup]:
        """Where the indexes built on `table_name` are noted: all its indexes for a table
        created here, else those the migrations added (`indexes_added`)."""
        known = self.table_indexes.get(table_name)
        return known if known is not None else self.indexes_added.setdefault(table_name, [])

    def _check_added(self, table_name: str, con: Constraint) -> None:
        if con.kind == "check" and con.enforced:
            checks = self.checks.setdefault(table_name, {})
            name = con.name or f"#{len(checks)}"
            checks[name] = not con.not_valid
            self.check_columns.setdefault(table_name, {})[name] = \
                expression_columns(con.expression)

    def _alter(self, table_name: str, s: Statement, holder: str) -> None:
        table = self.columns.setdefault(table_name, {})
        storage = self.storage.get(table_name)
        for action in s.actions:
            sub = action.subtype
            if sub == "AttachPartition" and action.partition:
                self.children.setdefault(table_name, {})[last(action.partition)] = "partition"
            elif sub in ("DetachPartition", "DetachPartitionFinalize") and action.partition:
                self.children.get(table_name, {}).pop(last(action.partition), None)
            elif sub == "AddInherit" and action.parent:
                self.children.setdefault(last(action.parent), {})[table_name] = "inherits"
            elif sub == "DropInherit" and action.parent:
                self.children.get(last(action.parent), {}).pop(table_name, None)
            if storage is not None and sub in STORAGE_SETTINGS:
                setting, value = STORAGE_SETTINGS[sub], stored_as(action)
                if value is None:
                    storage.pop(setting, None)
                else:
                    storage[setting] = value
            indexes = self._indexes_of(table_name)
            if sub == "AddColumn" and action.column is not None:
                table[action.column.name] = self._new(action.column, table_name)
                self.columns_dropped.get(table_name, set()).discard(action.column.name)
                for con in action.column.constraints:
                    self._key_added(table_name, con, (action.column.name,))
                    self._foreign_key_added(s.relation or table_name, holder, con,
                                            (action.column.name,))
                if action.column.has("primary") or action.column.has("unique"):
                    indexes.append(Lookup((action.column.name,)))
            elif sub == "AlterColumnType" and action.column is not None and action.name:
                facts = table.setdefault(action.name, ColumnFacts(not_null=None))
                facts.type = action.column.type
                facts.collation = own_collation(action.column.collation)
            elif sub == "ColumnDefault" and action.name:
                facts = table.setdefault(action.name, ColumnFacts(not_null=None))
                facts.default_of = facts.type.name if action.expression is not None and \
                    facts.type is not None else None
                facts.sequence = nextval_sequence(action.expression)
                # A serial's values came from its DEFAULT: dropped or replaced, none do.
                facts.identity = _calls_nextval(action.expression)
            elif sub == "SetNotNull" and action.name:
                table.setdefault(action.name, ColumnFacts()).not_null = True
            elif sub == "DropNotNull" and action.name:
                table.setdefault(action.name, ColumnFacts()).not_null = False
            elif sub == "DropColumn" and action.name:
                table.pop(action.name, None)
                self.columns_dropped.setdefault(table_name, set()).add(action.name)
                for name, fk in list(self.foreign_keys.of(holder).items()):
                    if fk is not None and action.name in fk.columns:  # (goes with it)
                        self.foreign_keys.put(holder, name, None)
                unique = self.unique_keys.get(table_name, {})
                for name, held in unique.items():  # and so does a key of the table
                    if held is not None and (action.name in held[1] or action.name in
                                             self.included.get(name, ("", ()))[1]):
                        unique[name] = None
                for index, (owner, include) in list(self.included.items()):
                    if owner == table_name and action.name in include:
                        self._index_dropped(index)  # (an index INCLUDE-ing it too)
                if action.cascade:
                    self._keys_dropped_to(holder, column=action.name)
                    for of, _, fk in s.resting_on_included:
                        if of == action.name:
                            self.foreign_keys.put(self.holder_key(fk), fk.name, None)
                # its indexes go with it
                indexes[:] = [index for index in indexes if action.name not in index.columns]
            elif sub == "AttachPartition" and action.default and action.partition:
                self.default_partitions[table_name] = last(action.partition)
            elif sub == "DetachPartition" and action.partition and \
                    self.default_partitions.get(table_name) == last(action.partition):
                self.default_partitions[table_name] = None  # known to have none now
            elif sub == "AddConstraint" and action.constraint is not None:
                con = action.constraint
                self._check_added(table_name, con)
                self._key_added(table_name, con, ())
                self._foreign_key_added(s.relation or table_name, holder, con, ())
                if con.kind == "primary":
                    key = con.columns if con.using_index is None else \
                        self.index_columns.get(last(con.using_index), ())
                    for name in key:
                        table.setdefault(name, ColumnFacts()).not_null = True
                if con.kind in ("primary", "unique") and con.columns:
                    indexes.append(Lookup(con.columns))
                if con.kind in ("primary", "unique") and con.using_index and con.name:
                    # USING INDEX renames the index to the constraint's name
                    # (PostgreSQL's `index_constraint_create`)
                    old_index, new_index = last(con.using_index), last(con.name)
                    self._index_renamed(old_index, new_index)
                    schema = self._table_schema(s.relation or table_name)
                    self._note_kind_of(self.kinds, old_index, schema, "")
                    self._note_kind_of(self.kinds, new_index, schema, "index")
                column = not_null_check_column(con)
                if column is not None and con.enforced:
                    if con.not_valid:
                        if con.name:
                            self.pending_checks[(table_name, con.name)] = column
                    else:
                        self.not_null_proofs.setdefault(table_name, set()).add(column)
            elif sub == "DropConstraint" and action.name:
                self.checks.get(table_name, {}).pop(action.name, None)
                self.check_columns.get(table_name, {}).pop(action.name, None)
                self.pending_checks.pop((table_name, action.name), None)
                self.foreign_keys.put(holder, action.name, None)
                dropped = self.unique_keys.setdefault(table_name, {}).get(action.name)
                self.unique_keys[table_name][action.name] = None
                # its index goes with it (a key of the schema before: by its name)
                self.indexes_dropped.add(action.name)
                if dropped is not None:
                    self._note_kind_of(self.kinds, action.name,
                                       self._table_schema(s.relation or table_name), "")
                if dropped is not None and Lookup(dropped[1]) in indexes:
                    indexes.remove(Lookup(dropped[1]))
                if action.cascade and dropped is not None:
                    self._keys_dropped_to(holder, key=dropped)
            elif sub == "ValidateConstraint" and action.name:
                if action.name in self.checks.get(table_name, {}):
                    self.checks[table_name][action.name] = True
                validated = self.foreign_keys.of(holder).get(action.name)
                if validated is not None:
                    self.foreign_keys.put(holder, action.name, dataclasses.replace(
                        validated, validated=True))
                column = self.pending_checks.pop((table_name, action.name), None)
                if column is not None:
                    self.not_null_proofs.setdefault(table_name, set()).add(column)


# The kinds of relation a name can be (`History.kinds`), as `Rename.object` spells them.
RELATION_KINDS = frozenset({"table", "foreign table", "view", "materialized view", "index",
                            "sequence"})
_CREATED_KINDS = {"CreateStmt": "table", "CreateForeignTableStmt": "foreign table",
                  "ViewStmt": "view", "IndexStmt": "index", "CreateSeqStmt": "sequence",
                  "CreateTableAsStmt": ""}  # (CREATE TABLE AS or MATERIALIZED VIEW: its own)
# The statements that rename a relation of another kind than they name (PostgreSQL 18's
# RenameRelation): ALTER TABLE renames an index, a sequence, a view; ALTER INDEX a table or
# a sequence. ALTER VIEW, SEQUENCE, ... of another kind is an error.
_PERMISSIVE = ("table", "index")
# The relations `ALTER ... SET SCHEMA` moves that the schema before holds as relations.
_MOVABLE = frozenset({"OBJECT_TABLE", "OBJECT_FOREIGN_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW"})
# What `ALTER ... SET SCHEMA` moves, by the kind of relation it names (`History.kinds`).
_MOVED_KINDS = {"OBJECT_TABLE": "table", "OBJECT_FOREIGN_TABLE": "foreign table",
                "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "materialized view",
                "OBJECT_SEQUENCE": "sequence"}
_SNAPSHOT_KINDS = {"table": "table", "partitioned_table": "table", "view": "view",
                   "materialized_view": "materialized view", "foreign_table": "foreign table"}


def _as_written(names: Collection[str]) -> list[str]:
    """Each relation of `Statement.creates` (which holds a qualified name unqualified too)
    once, as written: its qualified name where it has one."""
    if len(names) < 2:
        return list(names)
    found: dict[str, str] = {}
    for name in names:
        if name.count(".") >= found.get(last(name), "").count("."):
            found[last(name)] = name
    return list(found.values())


def rebuilt_table(statement: Statement) -> str | None:
    """The one table a `VACUUM`, `CLUSTER` or `REINDEX TABLE` names; None for any other
    statement, or one naming none or several."""
    if statement.kind == "VacuumStmt":
        names = [range_var(r.get("VacuumRelation", {}).get("relation"))
                 for r in statement.node.get("rels") or ()]
        return names[0] if len(names) == 1 and names[0] else None
    if statement.kind == "ClusterStmt" or (
            statement.kind == "ReindexStmt" and
            statement.node.get("kind") == "REINDEX_OBJECT_TABLE"):
        return statement.relation or None
    return None


def resolve_rename(statement: Statement, kind: str | None) -> None:
    """Make an `ALTER TABLE` (or `ALTER INDEX`) `... RENAME TO` of a relation known to be of
    `kind` (one of `RELATION_KINDS`; None or "": unknown) say what it renames.

    PostgreSQL's parser gives `ALTER TABLE ix RENAME TO ix2` the same tree for an index as
    for a table; PostgreSQL renames whatever `ix` is (verified on PostgreSQL 18: an index
    keeps being an index, and the constraint it backs is renamed with it). The statement's
    `rename` becomes one of that kind, with `written` the kind the statement names: the
    lock differs (ACCESS EXCLUSIVE on an index renamed by ALTER TABLE, SHARE UPDATE
    EXCLUSIVE by ALTER INDEX).
    """
    rename = statement.rename
    if rename is None or not kind or kind == rename.object or rename.written or \
            rename.object not in _PERMISSIVE or rename.relation_kind != rename.object:
        return
    statement.rename = dataclasses.replace(rename, object=kind, relation_kind=kind,
                                           written=rename.object)
    statement.object_kind = kind
    statement.locks = None  # predicted for the kind the statement names


# ALTER TABLE subcommands that set how a table is stored, and the setting each one sets.
STORAGE_SETTINGS = {"SetLogged": "logged", "SetUnLogged": "logged",
                    "SetAccessMethod": "access method", "SetTableSpace": "tablespace"}


def stored_as(action: Action) -> str | None:
    """The value a storage subcommand sets (see `STORAGE_SETTINGS`); None when it depends
    on the server's settings (`SET ACCESS METHOD DEFAULT`)."""
    if action.subtype in ("SetLogged", "SetUnLogged"):
        return str(action.subtype == "SetLogged")
    return action.name


def _facts(column: Any, table: str) -> ColumnFacts:
    identity = bool(column.has("identity") or (column.type is not None and
                                               column.type.name in _SERIAL_TYPES))
    generated = next((("stored" if c.stored else "virtual") for c in column.constraints
                      if c.kind == "generated"), None)
    default_of = column.type.name if column.type is not None and \
        column.default is not None else None
    sequence = nextval_sequence(column.default)
    if column.type is not None and column.type.name in _SERIAL_TYPES and \
            len(f"{table}_{column.name}_seq".encode()) < 64:
        # (a longer name PostgreSQL shortens, or numbers where the name is taken)
        sequence = f"{table}_{column.name}_seq"
    return ColumnFacts(column.type, bool(column.not_null or identity), identity, True,
                       own_collation(column.collation), generated, default_of, sequence)


def nextval_sequence(expression: Any) -> str | None:
    """The sequence (unqualified) of a DEFAULT that is `nextval('s')` (or
    `nextval('s'::regclass)`), as PostgreSQL's grammar reads it; None for anything else."""
    call = (expression or {}).get("FuncCall") if isinstance(expression, dict) else None
    if not call or strings(call.get("funcname"))[-1:] != ("nextval",) or \
            len(call.get("args") or ()) != 1:
        return None
    [arg] = call["args"]
    arg = (arg.get("TypeCast") or {}).get("arg", arg)
    name = ((arg.get("A_Const") or {}).get("sval") or {}).get("sval")
    if not isinstance(name, str) or '"' in name:
        return None  # (a quoted name lint does not fold)
    return name.rpartition(".")[2].lower()


def _calls_nextval(expression: Any) -> bool:
    """Is a DEFAULT a `nextval(...)` call (of any sequence, its name quoted or not)?"""
    call = expression.get("FuncCall") if isinstance(expression, dict) else None
    return isinstance(call, dict) and strings(call.get("funcname"))[-1:] == ("nextval",)


_TYPE_CREATED = frozenset({"CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt"})


def _type_created(s: Statement) -> str | None:
    """The name a CREATE TYPE (enum, composite, range) gives: `schema.name` where it names
    a schema."""
    names = strings(s.node.get("typeName"))
    if names:
        return ".".join(names[-2:])
    typevar = s.node.get("typevar") or {}
    name = typevar.get("relname")
    return f"{typevar['schemaname']}.{name}" if name and typevar.get("schemaname") else name


def own_collation(name: str | None) -> str | None:
    """A COLLATE clause's collation, None for the type's own (`COLLATE "default"`)."""
    return None if name in (None, "default") else name


_SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial"})


def not_null_check_column(con: Any) -> str | None:
    """The column of `CHECK (col IS NOT NULL)` or PostgreSQL 18's `NOT NULL col` constraint."""
    if con.kind == "not_null" and len(con.columns) == 1:
        return str(con.columns[0])
    if con.kind != "check" or not con.expression:
        return None
    test = con.expression.get("NullTest")
    if not test or test.get("nulltesttype") != "IS_NOT_NULL":
        return None
    ref = (test.get("arg") or {}).get("ColumnRef")
    fields = strings(ref.get("fields")) if ref else ()
    return fields[-1] if len(fields) == 1 else None


@lru_cache(maxsize=1024)
def expression_from_text(text: str | None) -> Node | None:
    """A snapshot's expression (`pg_get_expr`, e.g. a default) as a parse tree; None for
    no expression. Cached, like `type_from_text`: the tree is shared, and only read."""
    if text is None:
        return None
    statement = parse_statement(f"SELECT {text}")
    targets = statement.node.get("targetList") or ()
    return targets[0].get("ResTarget", {}).get("val") if targets else None


def snapshot_index_lookup(index: Index, relation: Relation) -> Lookup:
    """`IndexDef.lookup` of a snapshot's index: its leading keys up to the first expression
    (a key that names no column of the table: the snapshot shows an expression as its
    text), none for an invalid index (the planner does not use it) or a partial one whose
    WHERE no lookup implies."""
    if not index.valid:
        return Lookup()
    names = {column.name for column in relation.columns}
    columns = tuple(itertools.takewhile(names.__contains__, index.columns))
    return lookup_of(columns, expression_from_text(index.predicate))


def renamed_relation(relation: Relation, name: str, columns: Mapping[str, str]) -> Relation:
    """`relation` of the schema before named `name`, with `columns` (old name -> new)
    renamed in its columns, its indexes' key columns and WHERE, and its constraints'
    columns."""
    from dbsafe.schema.model import replace

    def rename(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(columns.get(column, column) for column in names)

    return replace(
        relation, name=name,
        columns=tuple(replace(c, name=columns[c.name]) if c.name in columns else c
                      for c in relation.columns),
        indexes=tuple(replace(i, columns=rename(i.columns),
                              predicate=_columns_renamed_in(i.predicate, columns))
                      for i in relation.indexes),
        constraints=tuple(replace(c, columns=rename(c.columns))
                          for c in relation.constraints))


@lru_cache(maxsize=256)
def _renamed_in(text: str, columns: tuple[tuple[str, str], ...]) -> str:
    from pglast import ast, parse_sql, visitors
    from pglast.stream import RawStream

    renames = dict(columns)

    class Rename(visitors.Visitor):
        def visit_ColumnRef(self, _ancestors: Any, node: Any) -> Any:
            last_field = node.fields[-1]
            if len(node.fields) == 1 and isinstance(last_field, ast.String) and \
                    last_field.sval in renames:
                return ast.ColumnRef(fields=(ast.String(sval=renames[last_field.sval]),))
            return None

    from pglast.parser import ParseError

    try:
        [statement] = parse_sql(f"SELECT {text}")
    except ParseError:
        return text  # (PostgreSQL's own text: not expected)
    Rename()(statement)
    select: Any = statement.stmt
    return str(RawStream()(select.targetList[0].val))


def _columns_renamed_in(text: str | None, columns: Mapping[str, str]) -> str | None:
    """An index's WHERE (the schema before's text) with `columns` renamed."""
    if text is None or not any(old in text for old in columns):
        return text
    return _renamed_in(text, tuple(sorted(columns.items())))


def database_name(origins: Mapping[str, str], table: str) -> str | None:
    """The name the schema before gives table `table` (as a statement names it), through the
    migrations' renames so far (`History.origins`): `table` itself when they renamed nothing
    to it, None for a name they renamed away (a table made again under it is theirs)."""
    return origins.get(last(table), table) or None


# ALTER TABLE actions the history records on a column it may know only from the database
# (a DEFAULT too: before task 469, `ALTER COLUMN id DROP DEFAULT` left the history a column
# of unknown type, so the next `SET DATA TYPE bigint` "may rewrite" bytebase's `task`)
_COLUMN_CHANGES = frozenset({"AlterColumnType", "SetNotNull", "DropNotNull", "ColumnDefault"})


def _snapshot_collation(text: str | None) -> str | None:
    """A snapshot's column collation (`pg_catalog."C"`) as a COLLATE clause names it."""
    if text is None:
        return None
    clause = (expression_from_text(f"'' COLLATE {text}") or {}).get("CollateClause", {})
    return own_collation(collation_name(strings(clause.get("collname"))))


@lru_cache(maxsize=1024)
def _snapshot_volatility(before: SchemaSnapshot) -> Callable[[str], str | None]:
    """The volatility of a call of a function of `before` by name, of any schema, or by
    `schema.name` (its most volatile
    overload, read from their `pg_get_functiondef`; None for a name it has not): a call of
    an inlined SQL function is as volatile as its body (`inlined_volatility`), the
    functions that body calls looked up the same way. Each name is worked out once."""
    definitions: dict[str, list[str]] = {}
    for function in before.functions:
        # (An aggregate's is dbsafe's CREATE AGGREGATE, with no volatility of its own.)
        if function.definition is not None and function.kind != "aggregate":
            definitions.setdefault(function.name, []).append(function.definition)
            definitions.setdefault(f"{function.schema}.{function.name}", []).append(
                function.definition)
    known: dict[str, str | None] = {}

    def volatility(name: str) -> str | None:
        if name in known:
            return known[name]
        known[name] = None  # (a function its own body calls: not known while worked out)
        found = []
        for definition in definitions.get(name, ()):
            statement = parse_statement(definition)
            declared = function_volatility(statement)[1]
            if declared == "volatile":
                declared = inlined_volatility(statement, volatility) or declared
            found.append(declared)
        known[name] = None if not found else "volatile" if "volatile" in found \
            else "stable" if "stable" in found else "immutable"
        return known[name]

    return volatility


# Statements that may make a temporary relation, and where their node names it.
_TEMPORARY_HOLDERS = {"CreateStmt": ("relation",), "CreateTableAsStmt": ("into", "rel"),
                      "ViewStmt": ("view",), "CreateSeqStmt": ("sequence",)}


def temporary_creation(statement: Statement) -> bool:
    """Does `statement` make a temporary relation (`CREATE TEMP TABLE`, `... AS`, a temporary
    view or sequence, or one named in `pg_temp`)?

    >>> from dbsafe.lint.statement import parse_statement
    >>> temporary_creation(parse_statement("CREATE TEMP TABLE x (a int)"))
    True
    >>> temporary_creation(parse_statement("CREATE TABLE pg_temp.x AS SELECT 1"))
    True
    >>> temporary_creation(parse_statement("CREATE TABLE x (a int)"))
    False
    """
    path = _TEMPORARY_HOLDERS.get(statement.kind or "")
    if path is None:
        return False
    node: Any = statement.node
    for key in path:
        node = (node or {}).get(key)
    node = node or {}
    return node.get("relpersistence") == "t" or (node.get("schemaname") or "").startswith(
        "pg_temp")


def _signature(statement: Statement) -> tuple[tuple[str, ...], ...]:
    """The argument types of a `CREATE FUNCTION` (its input parameters' type names), which
    with its name tell it from its overloads; a `CREATE OR REPLACE` of the same replaces it."""
    found = []
    for item in statement.node.get("parameters") or ():
        parameter = item.get("FunctionParameter", {})
        if parameter.get("mode") in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"):
            continue
        argument = parameter.get("argType", {})
        found.append((*strings(argument.get("names")), str(bool(argument.get("arrayBounds")))))
    return tuple(found)


def _function_schema(statement: Statement) -> str | None:
    """The schema a `CREATE FUNCTION` names its function in, None when unqualified."""
    names = strings(statement.node.get("funcname"))
    return names[-2] if len(names) > 1 else None


@lru_cache(maxsize=64)
def _snapshot_functions(before: SchemaSnapshot) -> dict[str, tuple[Statement, ...]]:
    """Each function of `before` by name, its `pg_get_functiondef` parsed (an aggregate's, or
    one a snapshot of older dbsafe has no definition of, as a statement of no kind)."""
    found: dict[str, list[Statement]] = {}
    for function in before.functions:
        definition = function.definition if function.kind != "aggregate" else None
        found.setdefault(function.name, []).append(parse_statement(definition or ""))
    return {name: tuple(statements) for name, statements in found.items()}


# -- the context rules receive ---------------------------------------------------------


@dataclass
class LintContext:
    """Facts about the migration being linted, shared by every rule."""

    migration: Migration
    statements: list[Statement]
    target_version: int = 150000  # server_version_num the migration will run on
    target_version_given: bool = False  # said by the user or the database, not the default
    timeouts_managed: bool = False  # `dbsafe upgrade` will set lock/statement timeouts
    lock_timeout_limit_ms: int = 10_000  # `lock-timeout-limit` (DBS134); 0: none
    index_column_limit: int = 3  # `index-column-limit` (DBS139); 0: none
    # The database's own server_version_num, minor release included (`lint --database-url`,
    # `upgrade`'s preflight); None: no database (a target version names no minor release)
    server_version: int | None = None
    before: SchemaSnapshot | None = None  # the database before this migration, if known
    table_sizes: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    large_table_bytes: int = 10 * 1024 * 1024
    current: Statement | None = None
    history: History = field(default_factory=History)
    cache: dict[str, Any] = field(default_factory=dict)  # per-migration memo for rules
    # Relations created here -> the statement that created each, keyed by the schema they
    # lie in (`schema.name`); by the name alone where the schema is not known (an unqualified
    # CREATE in a session whose search_path lint cannot tell, `History.session_path`),
    # which then matches any schema.
    _created_at: dict[str, int] = field(default_factory=dict)
    # (relation name, statement index) -> `created_before`'s answer
    _created_memo: dict[tuple[str, int], bool] = field(default_factory=dict)
    # Statement (its index) -> the schemas its unqualified names are looked up in
    # (`lookup_path` as it stands for it).
    _paths: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # User functions `never_inlined_function` is judging (their bodies may call each other).
    _judging_inlined: set[str] = field(default_factory=set)
    # Statements (their index) `CREATE ... IF NOT EXISTS` of what is there: PostgreSQL makes
    # nothing (NOTICE), so the history keeps the relation as it was (`makes_nothing`)
    _kept: set[int] = field(default_factory=set)
    # Temporary relations made here (unqualified) -> the statement that made the first.
    _temporary_at: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.before is not None:  # (an unqualified name's schemas before any SET)
            self.history.default_path = tuple(self.before.search_path)
            self.history.database = self.before
        created = self._created_at
        gone: dict[str, int] = {}  # relations dropped or renamed away here: where
        # The search_path each statement is read under: the history's, until a statement
        # that may move it (a SET, set_config, the end of a SET LOCAL's transaction); only
        # then is a History made to follow it (one per migration cost more than the rest).
        paths: History | None = None
        path = self._path_of(self.history)
        for statement in self.statements:
            at = statement.index
            self._paths[at] = path
            if statement.creates and temporary_creation(statement):
                for name in statement.creates:
                    self._temporary_at.setdefault(last(name), at)
            if statement.transaction in _ENDS or statement.kind in _MAY_SET_SEARCH_PATH:
                if paths is None:
                    paths = History(search_path=self.history.search_path,
                                    local_search_path=self.history.local_search_path)
                paths.follow_search_path(statement)
                path = self._path_of(paths)
            if statement.if_exists_keeps and any(
                    self._existed(name) and not self._made(created, name, at, path)
                    and not self._made(gone, name, at, path)
                    for name in statement.creates):
                if statement.node.get("if_not_exists"):  # (not OR REPLACE: that replaces)
                    self._kept.add(at)
                continue  # `CREATE ... IF NOT EXISTS` of what is there: a no-op
            key = self._creation_key(statement, at, path)
            if key is not None and temporary_creation(statement):
                # (in the session's temporary schema whatever the path: `created_before`
                # answers for it, and no permanent table of the name is it)
                key = f"pg_temp.{last(key)}"
            if key is not None:
                created.setdefault(key, at)
            for name in _relations_gone(statement):
                gone.setdefault(self._key(created, name, at, path) or name, at)
            rename = statement.rename
            if rename is not None and rename.relation and rename.object not in (
                    "column", "constraint") and self._made(created, rename.relation, at, path):
                old = self._key(created, rename.relation, at, path) or rename.relation
                schema = old.rpartition(".")[0]
                created.setdefault(f"{schema}.{rename.new}" if schema else rename.new, at)

    def _path_of(self, history: History) -> tuple[str, ...]:
        """The schemas an unqualified name is looked up in under `history`'s search_path
        (`lookup_path`): with no SET in force, the one the migration's session started with
        (`History.start_path`: stored by `ALTER DATABASE/ROLE ... SET`, the database's
        session's, else PostgreSQL's default `"$user", public`)."""
        path = history.search_path_now() if history.search_path is not None or \
            history.local_search_path is not None else self.history.start_path()
        return tuple(name for name in path if name != "$user")

    def _creation_key(self, statement: Statement, at: int,
                      path: tuple[str, ...] | None) -> str | None:
        """The key (`_created_at`) of the relation `statement` creates: `schema.name`, the
        schema it names or, unqualified, the first of the search_path (an index's is its
        table's); the name alone where that schema is not known."""
        if not statement.creates:
            return None
        written = max(statement.creates, key=lambda name: name.count("."))
        if "." in written:
            return written
        if statement.index_def is not None:  # (an index lies in its table's schema)
            table = self._key(self._created_at, statement.index_def.table, at, path)
            schema = table.rpartition(".")[0] if table is not None else ""
            return f"{schema}.{written}" if schema else written
        return f"{path[0]}.{written}" if path else written

    def _key(self, created: Mapping[str, int], name: str, at: int,
             path: tuple[str, ...] | None) -> str | None:
        """The relation `name` names at statement `at`, as `schema.name`: a qualified name
        itself; an unqualified one the first schema of `path` holding one, made here
        (`created`) before `at` or the database's (`before`); None when none does."""
        if "." in name:
            return name
        for schema in path or ():
            key = f"{schema}.{name}"
            if created.get(key, at) < at or (
                    self.before is not None and self.before.relation(schema, name) is not None):
                return key
        return None

    def _made(self, created: Mapping[str, int], name: str, at: int,
              path: tuple[str, ...] | None) -> bool:
        """Is relation `name` one of `created` (`_created_at`'s keys) before statement `at`?
        An unqualified name is the relation of the first schema of `path` holding one; a
        creation whose schema is unknown matches the name in any schema."""
        if created.get(last(name), at) < at:
            return True
        key = self._key(created, name, at, path)
        return key is not None and created.get(key, at) < at

    # -- facts -----------------------------------------------------------------------

    def statement_path(self, statement: Statement | None = None) -> tuple[str, ...]:
        """The schemas an unqualified name of `statement` (the current one) is looked up in,
        in order (`_path_of` as it stands for it)."""
        statement = statement or self.current
        if statement is not None and statement.index in self._paths:
            return self._paths[statement.index]
        return self._path_of(self.history)

    def same_table(self, name: str, statement: Statement, other: str,
                   other_statement: Statement) -> bool:
        """Do `name`, as `statement` writes it, and `other`, as `other_statement` does, name
        one table? By the schema each resolves to on the search_path in force for its
        statement (`_key`), where both do; else by `same_relation` (the name alone, a
        qualified one against an unqualified one)."""
        if last(name) != last(other):
            return False
        key = self._key(self._created_at, name, statement.index, self.statement_path(statement))
        other_key = self._key(self._created_at, other, other_statement.index,
                              self.statement_path(other_statement))
        if key is not None and other_key is not None:
            return key == other_key
        return same_relation(name, other)

    def makes_nothing(self, statement: Statement) -> bool:
        """Is `statement` a `CREATE ... IF NOT EXISTS` of a relation there (before the
        migration, and not made, dropped or renamed away in it since), which PostgreSQL
        skips? Its columns and keys are not the table's (task 485: `CREATE TABLE IF NOT
        EXISTS orders (status text NOT NULL)` hid the scan of a later SET NOT NULL)."""
        return statement.index in self._kept

    def skips_table(self, statement: Statement) -> bool:
        """Is `statement` a `CREATE TABLE IF NOT EXISTS` of a table there, which PostgreSQL
        skips (NOTICE) before it reads a column? It then locks no table its keys reference
        and adds no key, column or index (pg_locks, PostgreSQL 18: justicehub's
        20260106000003 repeats the CREATE TABLE of 20260106000002, and lint reported its
        SHARE ROW EXCLUSIVE lock on `organizations`, DBS115, DBS117 and DBS125, task 545).
        Its locks are made none; the rules do not read it."""
        if statement.kind != "CreateStmt" or not self.makes_nothing(statement):
            return False
        statement.locks = ()
        return True

    def created_before(self, name: str, statement: Statement | None = None) -> bool:
        """Was relation `name` (folded, optionally schema-qualified) created earlier here?

        A temporary relation counts as one, wherever it was made: it is the session's own
        (no other session sees it, it holds only that session's rows), as `pg_temp.x` or
        an unqualified name a `CREATE TEMP` made (the session's temporary schema comes
        first on its search_path)."""
        schema = name.rpartition(".")[0]
        if schema:
            if last(schema).startswith("pg_temp"):
                return True
        elif last(name) in self.history.temporary and self.before_relation(name) is None:
            return True
        elif self._temporary_at:
            at = self._temporary_at.get(last(name))
            current = statement or self.current
            if at is not None and (current.index if current is not None
                                   else len(self.statements)) > at:
                return True
        if not self._created_at:
            return False  # (the migration makes no relation: most of a history's)
        statement = statement or self.current
        if statement is not None and statement.index in self._paths:
            # (asked ~8 times a statement by the rules: its path and the creations are fixed)
            known = self._created_memo.get((name, statement.index))
            if known is None:
                known = self._created_memo[(name, statement.index)] = self._made(
                    self._created_at, name, statement.index, self._paths[statement.index])
            return known
        index = statement.index if statement is not None else len(self.statements)
        return self._made(self._created_at, name, index, self._path_of(self.history))

    def column(self, table: str, column: str) -> ColumnFacts | None:
        """The column as it stands before the current statement; None when unknown."""
        known = self.history.columns.get(last(table), {}).get(column)
        if known is not None:
            return known
        relation = self.before_relation(table)
        if relation is None:
            return None
        col = relation.column(column)
        if col is None:
            return None
        # PostgreSQL 18 counts a NOT VALID NOT NULL constraint's column as NOT NULL
        # (attnotnull), but its rows are unchecked: SET NOT NULL scans them.
        return ColumnFacts(type_from_text(col.type),
                           not col.nullable and not col.not_null_not_valid,
                           col.identity is not None or (col.default or "").startswith("nextval("),
                           collation=_snapshot_collation(col.collation),
                           generated=col.generated)

    def proven_not_null(self, table: str, column: str) -> bool:
        """Does a validated `CHECK (column IS NOT NULL)` exist before the current statement?"""
        if column in self.history.not_null_proofs.get(last(table), ()):
            return True
        relation = self.before_relation(table)
        if relation is None:
            return False
        definitions = {f"CHECK (({column} IS NOT NULL))", f'CHECK ((\"{column}\" IS NOT NULL))'}
        return any(con.kind == "check" and con.validated and con.definition in definitions
                   for con in relation.constraints)

    def _existed(self, name: str) -> bool:
        """Was relation (or index) `name` there before this migration?"""
        return (last(name) in self.history.relations or self.before_relation(name) is not None
                or self.index_table(name) is not None)

    def domain(self, column_type: TypeName | None) -> DomainFacts | None:
        """The domain `column_type` names (created earlier, or in the schema before); None
        for any other type, an array of a domain included."""
        if column_type is None or column_type.array:
            return None
        name, history = column_type.name, self.history
        path = (column_type.schema,) if column_type.schema else self.statement_path()
        before = {d.schema: d for d in self.before.domains if d.name == name} \
            if self.before is not None else {}
        for schema in path:  # (the first schema holding one: made here, or the database's)
            known = history.domains.get(f"{schema}.{name}")
            if known is not None:
                return known
            d = before.get(schema)
            if d is not None:
                return DomainFacts(type_from_text(d.type), expression_from_text(d.default),
                                   {c.name for c in d.constraints}, not d.nullable)
        return None

    def stored_type(self, column_type: TypeName) -> TypeName:
        """The type PostgreSQL stores for `column_type`: a domain's base type."""
        domain = self.domain(column_type)
        return domain.base if domain is not None and domain.base is not None else column_type

    def type_change_rewrites(self, old: TypeName, new: TypeName) -> bool | None:
        """Does changing a column from `old` to `new` rewrite its table (`pg.types.rewrites`
        of the types stored, in this session's TimeZone)? DBS110, DBS122 and DBS127 ask."""
        return rewrites(self.stored_type(old), self.stored_type(new),
                        utc=self.timezone_utc and self.target_version >= 120000)

    def type_change_reorders(self, old: TypeName, new: TypeName) -> bool:
        """Does changing a column from `old` to `new` rebuild its indexes though the rows
        stay (`pg.types.changes_index_order`: text <-> citext)? DBS122 asks."""
        return changes_index_order(self.stored_type(old), self.stored_type(new))

    def type_change_keeps_rows(self, table: str, action: Action) -> bool:
        """Is `action`, an `ALTER COLUMN ... TYPE` of `table`, known to leave the table's
        rows, indexes and constraints as they are -- quick catalog work under its ACCESS
        EXCLUSIVE lock? Only when the column's type before it is known and changes
        binary-coercibly (DBS110's table), with no `USING` but the column itself, to no
        constrained domain, and nothing that depends on the column's values is redone
        (DBS127's CHECK constraints and expression or partial indexes)."""
        column, new = action.name, action.column.type if action.column is not None else None
        if not column or new is None or \
                (action.using is not None and not is_plain_column(action.using, column)):
            return False
        domain = self.domain(new)
        known = self.column(table, column)
        return (domain is None or not domain.constrained) and known is not None and \
            known.type is not None and self.type_change_rewrites(known.type, new) is False \
            and not self.type_change_reorders(known.type, new) \
            and not self.type_change_redoes(table, column) and not self._may_redo(table)

    def _quick(self, table: str, action: Action) -> bool:
        """Is `action` known to do only catalog work on `table`, though it could rewrite or
        scan it: a type change that keeps the rows, a SET NOT NULL of a column that is NOT
        NULL already (PostgreSQL then checks nothing)?"""
        if action.subtype == "AlterColumnType":
            return self.type_change_keeps_rows(table, action)
        if action.subtype == "SetNotNull" and action.name:
            known = self.column(table, action.name)
            return known is not None and known.not_null is True
        return False

    def _may_redo(self, table: str) -> bool:
        """Does the history know a validated CHECK constraint, or an expression or partial
        index, on `table`? It holds neither's text, so either may use the column whose type
        changes (a NOT VALID CHECK is re-added NOT VALID and checks nothing)."""
        name = last(table)
        return any(self.history.checks.get(name, {}).values()) or \
            name in self.history.value_indexed

    def type_change_redoes(self, table: str, column: str,
                           dropped: Collection[str] = ()) -> list[str]:
        """What a type change of `table.column` that keeps the rows still redoes under its
        lock, as the database's schema shows it (`schema.reads.redone_by_type_change`, which
        diff's hazards read too; DBS127). `dropped`: constraints the same ALTER TABLE drops,
        which PostgreSQL drops before it changes the type (boundary's 35/01: `DROP
        CONSTRAINT controller_id_must_be_at_least_10_characters, ALTER COLUMN controller_id
        TYPE ...` rechecks nothing of it)."""
        checks, indexes = self.redone_by_type_change(table, column)
        built_checks, built_indexes = self.redone_by_type_change_here(table, column)
        checks_named = [c.name for c in checks if c.name not in dropped] + \
            [c for c in built_checks if c not in {c.name for c in checks} and c not in dropped]
        indexes_named = [i.name for i in indexes] + \
            [i for i in built_indexes if i not in {i.name for i in indexes}]
        return [f"rechecks constraint `{c}` (a full scan)" if not c.startswith("#") else
                "rechecks a CHECK constraint (a full scan)" for c in checks_named] + \
            [f"rebuilds index `{i}`" for i in indexes_named]

    def redone_by_type_change_here(self, table: str, column: str) -> tuple[list[str],
                                                                            list[str]]:
        """What the migrations built on `table` that a type change of `column` keeping the
        rows redoes: the validated CHECK constraints (unnamed ones as `#N`) and the
        expression or partial indexes that read the column. A CHECK's columns are not
        followed through a column rename: none is counted after one."""
        history, name = self.history, last(table)
        checks = [] if name in history.columns_renamed else [
            check for check, valid in history.checks.get(name, {}).items()
            if valid and column in history.check_columns.get(name, {}).get(check, ())]
        indexes = sorted(index for index, reads in history.value_index_columns.items()
                         if history.index_tables.get(index) == name and column in reads)
        return checks, indexes

    def redone_by_type_change(self, table: str, column: str) -> tuple[list[Constraint_],
                                                                        list[Index]]:
        """`schema.reads.redone_by_type_change` of `table.column` in the schema before, read
        by the names the database gives them (its definitions' text uses those)."""
        from dbsafe.schema.reads import redone_by_type_change

        origin = self.before_origin(table)
        if origin is None:
            return [], []
        relation, renamed = origin
        column = next((was for was, now in renamed.items() if now == column), column)
        return redone_by_type_change(relation, column)

    def domain_with_default(self, column_type: TypeName | None) -> bool:
        """Is `column_type` a domain with a DEFAULT? A column of it added without a default
        of its own gets the domain's."""
        domain = self.domain(column_type)
        return domain is not None and domain.default is not None

    def stored(self, table: str, setting: str) -> str | None:
        """How table `table` is stored before the current statement, for one of
        `STORAGE_SETTINGS`' settings; None when unknown (the schema before tells only
        whether a table is logged)."""
        known = self.history.storage.get(last(table))
        if known is not None:
            return known.get(setting)
        relation = self.before_relation(table)
        if setting == "logged" and relation is not None and relation.kind == "table":
            return str(not relation.unlogged)
        return None

    def validated_check(self, table: str) -> str | None:
        """Where a validated CHECK constraint of `table` is known from: "migration" (added
        by this migration or an earlier one), "schema" (the database's), None when none is
        known. Which rows it admits is not read."""
        if any(self.history.checks.get(last(table), {}).values()):
            return "migration"
        relation = self.before_relation(table)
        if relation is not None and any(c.kind == "check" and c.validated
                                        for c in relation.constraints):
            return "schema"
        return None

    def validated_check_columns(self, table: str) -> list[frozenset[str]] | None:
        """The columns each validated CHECK constraint of `table` names (those
        `validated_check` knows of); None when a name may be stale: a migration renamed a
        column of the table, or made or renamed a relation of its name that the schema
        before may hold another of."""
        history = self.history
        name = last(table)
        if name in history.columns_renamed:
            return None
        named = history.check_columns.get(name, {})
        found = [named.get(check, frozenset()) for check, valid
                 in history.checks.get(name, {}).items() if valid]
        relation = self.before_relation(table)
        if relation is not None and any(c.kind == "check" and c.validated
                                        for c in relation.constraints):
            if history.kind_of(table) is not None:
                return None
            found += [frozenset(c.columns) for c in relation.constraints
                      if c.kind == "check" and c.validated]
        return found

    def partition_key(self, table: str) -> frozenset[str] | None:
        """The columns the partition key of partitioned table `table` names; None when
        unknown, or when a name may be stale (as `validated_check_columns`)."""
        history = self.history
        name = last(table)
        if name in history.columns_renamed:
            return None
        if name in history.partition_keys:
            return history.partition_keys[name]
        relation = self.before_relation(table)
        if relation is None or not relation.partition_key or history.kind_of(table) is not None:
            return None
        spec = parse_statement(f"CREATE TABLE t () PARTITION BY {relation.partition_key}")
        return partition_key_columns(spec.node["partspec"]) if spec.kind else None

    def default_partition(self, table: str) -> Relation | str | None:
        """The default partition of partitioned table `table` (its name when only the
        migration made it, the snapshot's relation otherwise); None when it has none."""
        if last(table) in self.history.default_partitions:
            return self.history.default_partitions[last(table)]
        origin = self.before_origin(table)
        if origin is None or self.before is None:
            return None
        parent = origin[0]  # (as the database names it: its partitions' `partition_of`)
        return next((r for r in self.before.relations if r.partition_of == parent.qualified_name
                     and (r.partition_bound or "").upper() == "DEFAULT"), None)

    def partitioned(self, table: str) -> bool:
        """Is `table` a partitioned table (created so earlier, or so in the schema before)?"""
        if last(table) in self.history.partitioned:
            return True
        relation = self.before_relation(table)
        return relation is not None and relation.kind == "partitioned_table"

    def relation_kind(self, name: str) -> str | None:
        """What relation `name` is before the current statement (one of `RELATION_KINDS`),
        from the migrations or the schema before them; None when unknown."""
        known = self.history.kind_of(name)
        if known is not None:
            return known or None
        if self.before is None:
            return None
        relation = self.before_relation(name)
        if relation is not None:
            return _SNAPSHOT_KINDS.get(relation.kind)
        schema, _, bare = name.rpartition(".")
        schemas = (schema,) if schema else self.lookup_path()
        if self.history.moved_sequences.get(bare) in schemas or any(
                q.name == bare and q.schema in schemas for q in self.before.sequences):
            return "sequence"
        if self.index_table(name) is not None or self._key_table(name) is not None:
            return "index"
        return None

    def new_to_database(self, name: str) -> bool:
        """Is relation `name` one the linted migrations created that the database (`before`)
        has no relation of that name for, in any schema? Then it is empty, and nothing
        deployed uses it, while the migrations run."""
        if self.before is None or last(name) not in self.history.created_kinds:
            return False
        return not any(r.name == last(name) for r in self.before.relations)

    def lookup_path(self) -> tuple[str, ...]:
        """The schemas an unqualified name of the current statement names a relation (a
        domain, a sequence) of the schema before in, in order: those of the search_path in
        force for it when the migrations set one (`SET search_path`, `set_config`, a `SET
        LOCAL` until its transaction ends) or env.py did (the capture's, or an offline
        rendering's, generated `SET search_path TO "phx"` before each revision), `"$user"`
        left out; else the path of the session the schema before was read with. (Arize
        Phoenix's `ALTER TABLE spans ...` under env.py's `SET search_path TO phx` is
        `phx.spans`, not `public.spans`.)"""
        return self.history.lookup_path()

    def before_relation(self, table: str) -> Relation | None:
        """The schema before's relation that `table` names before the current statement,
        through the migrations' renames so far: a table renamed from one of the database's
        is that one under its new name, its columns (and its indexes' and constraints')
        renamed as the migrations renamed them; a name renamed away names none (a table
        made again under it is the migrations'). Definitions (a CHECK's, an index's) are
        the database's text: `before_origin` gives the names they use."""
        origin = self.before_origin(table)
        if origin is None:
            return None
        relation, columns = origin
        if not columns and relation.name == last(table):
            return relation
        key = f"before_relation:{last(table)}"
        known = self.cache.get(key)
        if known is None or known[0] is not relation or known[1] != columns:
            known = self.cache[key] = (relation, dict(columns),
                                       renamed_relation(relation, last(table), columns))
        return known[2]

    def before_origin(self, table: str) -> tuple[Relation, Mapping[str, str]] | None:
        """The schema before's relation `table` is, as the database names it, and the
        columns of it the migrations renamed (its name there -> its name now); None when
        the schema before has no relation `table` is."""
        if self.before is None:
            return None
        history = self.history
        written = table.rpartition(".")[0]
        if written and history.origin_schemas.get(last(table), last(written)) != last(written):
            # (another schema's table of the name: the database's own, task 537)
            relation = self.before.relation(last(written), last(table))
            return (relation, {}) if relation is not None else None
        origin = database_name(history.origins, table)
        if origin is None:
            return None
        lies_in = history.moved.get(last(table))
        if lies_in is not None and written and last(written) != lies_in:
            return None  # (moved out of the schema named)
        schema, _, name = origin.rpartition(".")
        relation = self.before.relation(schema, name) if schema else next(
            (found for on in self.lookup_path()
             if (found := self.before.relation(on, name)) is not None), None)
        if relation is None or (lies_in is None and relation.schema in history.emptied):
            return None  # (none, or its schema dropped with CASCADE)
        return relation, history.column_names.get(last(table), {})

    def _renamed_to(self, relation: Relation) -> str:
        """The name relation `relation` of the schema before has now (the migrations may
        have renamed it)."""
        for now, origin in self.history.origins.items():
            schema, _, name = origin.rpartition(".")
            if name == relation.name and schema in ("", relation.schema) and \
                    self.before_origin(now) is not None:
                return now
        return relation.qualified_name

    def index_columns(self, index: str) -> tuple[str, ...] | None:
        """The key columns of index `index` (all plain), from the migration or the schema
        before it; None when unknown or when a key is an expression."""
        found = self.history.index_columns.get(last(index))
        if found is not None:
            return found
        before = self._before_index(index)
        if before is None:
            return None
        known, _ = before
        return None if any("(" in c for c in known.columns) else known.columns

    def index_lookup(self, index: str) -> Lookup | None:
        """What a foreign key's lookup can use index `index` for (`IndexDef.lookup`), from
        the migration or the schema before it; None when unknown."""
        found = self.history.index_lookups.get(last(index))
        if found is not None:
            return found
        before = self._before_index(index)
        return snapshot_index_lookup(*before) if before is not None else None

    def _before_index(self, index: str) -> tuple[Index, Relation] | None:
        """Index `index` (`name` or `schema.name`) of the schema before the migrations, with
        its table; None without that schema or such an index."""
        if self.before is None:
            return None
        schema, _, name = index.rpartition(".")
        found = {relation.schema: relation for relation in self.before.relations
                 if (not schema or relation.schema == last(schema))
                 and any(known.name == name for known in relation.indexes)}
        # (unqualified: the first schema of the search_path holding one)
        on = next((found[s] for s in self.lookup_path() if s in found),
                  next(iter(found.values()), None))
        if on is None:
            return None
        now = self._before_now(on)
        if now is None:
            return None
        return next(i for i in now.indexes if i.name == name), now

    def _before_now(self, relation: Relation) -> Relation | None:
        """Relation `relation` of the schema before as it is before the current statement:
        under the name the migrations renamed it to, its columns renamed (`before_relation`);
        None when they dropped it (or its schema, with CASCADE)."""
        return self.before_relation(self._renamed_to(relation))

    def _including(self, table: str, column: str) -> list[str]:
        """The unique indexes of `table` (PRIMARY KEY and UNIQUE constraints' too) that hold
        `column` among their INCLUDE columns, before the current statement, from the
        migrations or the schema before them (its indexes' definitions): `DROP COLUMN ...
        CASCADE` of it drops them (PostgreSQL 18: "drop cascades to index ..."), and the
        foreign keys resting on them."""
        from dbsafe.lint.statement import included_columns, parse_statement

        history = self.history
        found = [name for name, (owner, include) in history.included.items()
                 if owner == last(table) and column in include]
        relation = self._before_keys(table)
        for index in relation.indexes if relation is not None else ():
            if not index.unique or index.name in history.indexes_dropped or \
                    index.name in history.included or "INCLUDE" not in index.definition:
                continue
            if index.name in found or history.index_tables.get(index.name, last(table)) \
                    != last(table):
                continue
            parsed = parse_statement(index.definition)
            if parsed.kind == "IndexStmt" and column in included_columns(parsed.node):
                found.append(index.name)
        keys = self.unique_keys(table)
        # (a constraint's index dropped since: gone with its constraint)
        return [name for name in found if name in keys or not any(
            name in known for known in history.unique_keys.values())]

    def index_lookups_of(self, table: str) -> list[Lookup] | None:
        """What a lookup of given values can use each index of `table` for, before the
        current statement (`IndexDef.lookup`; indexes no lookup can use left out); None if
        the table's indexes are unknown."""
        relation = self.before_relation(table)
        if relation is None:
            return self.history.table_indexes.get(last(table))  # an earlier migration made it
        # the database's (less those the migrations dropped), and those earlier migrations
        # (linted after it) built on it
        dropped = self.history.indexes_dropped
        served = (snapshot_index_lookup(ix, relation) for ix in relation.indexes
                  if ix.name not in dropped)
        return [lookup for lookup in served if lookup.columns] + \
            self.history.table_indexes.get(last(table), []) + \
            self.history.indexes_added.get(last(table), [])

    def before_index_definition(self, index: str) -> str | None:
        """`pg_get_indexdef` of index `index` in the schema before the migrations, as it
        stands now (None without that schema, or when the migrations dropped it or its
        table)."""
        before = self._before_index(index)
        return before[0].definition if before is not None else None

    def index_table(self, index: str) -> str | None:
        """The table index `index` belongs to, from the migration or the schema before it."""
        history = self.history
        found = history.index_tables.get(last(index))
        if found is not None and history.index_schema(index) is not None:
            return found  # (the index the history holds under the name: of that schema)
        before = self._before_index(index)  # (none when the migrations dropped its table)
        return before[1].qualified_name if before is not None else None

    def foreign_keys(self, table: str) -> list[ForeignKey]:
        """The foreign keys of `table` before the current statement: those the migrations
        made, over the schema before's (less those the migrations dropped)."""
        history = self.history
        known: dict[str, ForeignKey | None] = {}
        relation = self._before_keys(table)
        if relation is not None:
            for con in relation.constraints:
                if con.kind != "foreign_key" or not con.referenced_table:
                    continue
                referenced = history.table_key(con.referenced_table)
                now = history.renamed.get(referenced, referenced)
                if now not in history.fk_tables:  # (not dropped since)
                    known[con.name] = ForeignKey(
                        relation.qualified_name, con.name, con.columns,
                        last(now) if now != referenced else con.referenced_table,
                        con.referenced_columns, _enforced(con.definition), con.validated,
                        table_key=relation.qualified_name, references_key=now)
        known.update(history.foreign_keys.of(history.table_key(table)))
        return [fk for fk in known.values() if fk is not None]

    def _before_keys(self, table: str) -> Relation | None:
        """The schema before's `table`, when its keys are still its own: not when the
        migrations created or dropped a table of that name, or renamed it away (the
        history holds its keys under the new name from the rename on)."""
        history = self.history
        key = history.table_key(table)
        if key in history.fk_tables or key in history.renamed or (
                last(table) in history.origins and history.origin_schemas.get(
                    last(table), key.rpartition(".")[0]) == key.rpartition(".")[0]):
            return None
        return self.before_relation(table)

    def _keys_to(self, tables: Sequence[str]) -> list[ForeignKey]:
        """The foreign keys of any known table that reference one of `tables`: of that
        schema (`History.table_key`; `other.parents` is not `public.parents`, task 537)."""
        history = self.history
        keys = [history.table_key(t) for t in tables]
        names = {last(t) for t in tables}  # (a key to `b.t` or `t` references a `t`)
        candidates: set[str] = set()
        for name in names:
            candidates.update(history.foreign_keys.holding(name))
        if self.before is not None:
            # The database's tables with a key to a table of that name, or to one the
            # migrations renamed to it (`foreign_keys` follows the rename): `foreign_keys`
            # adds the history's keys of each to the database's.
            holding = self._before_keys_holding()
            for name in names | {last(old) for old, new in history.renamed.items()
                                 if last(new) in names}:
                candidates.update(holding.get(name, ()))
        found: dict[tuple[str, str], ForeignKey] = {}
        for table in sorted(candidates):
            for fk in self.foreign_keys(table):
                if any(same_relation(fk.referenced, key) for key in keys):
                    found.setdefault((fk.holder, fk.name), fk)
        return list(found.values())

    def _before_keys_holding(self) -> Mapping[str, set[str]]:
        """The schema before's tables with a foreign key (qualified names), by the
        unqualified name of each table they reference: read once a migration."""
        before = self.before
        known = self.cache.get("before_keys_holding")
        if known is None or known[0] is not before:
            holding: dict[str, set[str]] = {}
            for relation in before.relations if before is not None else ():
                for con in relation.constraints:
                    if con.kind == "foreign_key":
                        holding.setdefault(last(con.referenced_table or ""), set()).add(
                            relation.qualified_name)
            known = self.cache["before_keys_holding"] = (before, holding)
        return known[1]

    def unique_keys(self, table: str) -> dict[str, tuple[str, tuple[str, ...]]]:
        """The PRIMARY KEY and UNIQUE constraints of `table` before the current statement:
        name -> (kind, columns), those the migrations made over the schema before's."""
        history = self.history
        known: dict[str, tuple[str, tuple[str, ...]] | None] = {}
        relation = self._before_keys(table)
        if relation is not None:
            for con in relation.constraints:
                if con.kind in ("primary_key", "unique") and con.columns:
                    known[con.name] = ("primary" if con.kind == "primary_key" else "unique",
                                       con.columns)
        known.update(history.unique_keys.get(last(table), {}))
        return {name: key for name, key in known.items() if key is not None}

    def _remember(self, keys: Iterable[ForeignKey]) -> None:
        """Put foreign keys read from the schema before into the history, so that what
        later statements do to them (a DROP COLUMN that takes one along) is followed."""
        for fk in keys:
            self.history.foreign_keys.hold(self.history.holder_key(fk), fk.name, fk)

    def _keys_resting_on_index(self, index: str) -> list[ForeignKey]:
        """The other tables' foreign keys that surely rest on unique index `index`, which
        DROP INDEX ... CASCADE drops with it.

        PostgreSQL rests a key on the first unique index of the referenced table (by oid,
        so usually the oldest) whose key columns are the key's referenced columns, with no
        WHERE and no expression. Which of two is the older lint cannot always tell, so it
        answers only where `index` is the only unique index or constraint on its columns,
        and the table's every index is known (created by the migrations, or the database's
        and not renamed since): a false answer is a lock that is not taken.
        """
        table = self.index_table(index)
        if table is None:
            return []
        name = last(index)
        candidates: list[tuple[str | None, tuple[str, ...]]] = list(
            self.history.unique_indexes.get(last(table), ()))
        candidates += [(key_name, columns) for key_name, (_kind, columns)
                       in self.unique_keys(table).items()]
        if last(table) not in self.history.table_indexes:
            relation = self.before_relation(table)
            if relation is None or \
                    self.history.table_key(table) in self.history.renamed.values():
                return []  # not every index of it is known
            candidates += [(i.name, i.columns) for i in relation.indexes
                           if i.unique and i.predicate is None]
        own = {columns for key_name, columns in candidates if key_name == name}
        if len(own) != 1 or name in self.unique_keys(table):
            return []  # not known as a plain unique index (a constraint's cannot be dropped)
        [columns] = own
        if any("(" in column for column in columns) or any(
                key_name != name and set(other) == set(columns)
                for key_name, other in candidates):
            return []
        return [fk for fk in self._keys_to([table]) if fk.referenced_columns
                and set(fk.referenced_columns) == set(columns)
                and fk.holder != self.history.table_key(table)]

    def _key_table(self, index: str) -> str | None:
        """The table of the PRIMARY KEY or UNIQUE constraint whose index is `index` (it
        has the constraint's name), from the migrations or the schema before them."""
        name = last(index)
        for table, keys in self.history.unique_keys.items():
            if keys.get(name) is not None:
                return table
        if self.before is None:
            return None
        schema = index.rpartition(".")[0]
        for relation in self.before.relations:
            if (not schema or relation.schema == schema) and any(
                    c.name == name and c.kind in ("primary_key", "unique")
                    for c in relation.constraints):
                now = self._before_now(relation)  # (none when the migrations dropped it)
                if now is not None and name not in self.history.unique_keys.get(
                        last(now.name), {}):  # (not dropped or renamed since)
                    return now.qualified_name
        return None

    def _hold_unique_keys(self, table: str) -> dict[str, tuple[str, tuple[str, ...]]]:
        """`unique_keys(table)`, put into the history (as `_remember` does for foreign
        keys) so that what later statements do to them is followed."""
        keys = self.unique_keys(table)
        held = self.history.unique_keys.setdefault(last(table), {})
        for name, key in keys.items():
            held.setdefault(name, key)
        return keys

    def _hold_table(self, table: str) -> None:
        """Put what the schema before says of `table` -- its columns, whether it is
        partitioned, its foreign keys and the other tables' keys to it, its primary key and
        unique constraints, which table its indexes are on -- into the history, which
        follows the table to a new name or schema: the schema before names it by the old
        one."""
        relation = self.before_relation(table)
        if relation is None:
            return
        self._hold_checks(table)
        for col in relation.columns:
            self._hold_column(table, col.name)
        history = self.history
        if relation.kind == "partitioned_table":
            history.partitioned.add(last(table))
        self._remember(self.foreign_keys(table))
        self._remember(fk for fk in self._keys_to([table])
                       if fk.holder != self.history.table_key(table))
        self._hold_unique_keys(table)
        for index in relation.indexes:
            if index.name not in history.index_tables:
                history.index_tables[index.name] = last(table)
                history.index_schemas[index.name] = relation.schema

    def _follow_sequences(self, moved: str, schema: str) -> None:
        """Note the database's sequences `SET SCHEMA` of relation `moved` carries to `schema`:
        `moved` itself when it is a sequence (ALTER SEQUENCE or ALTER TABLE), else those the
        table owns (serial, identity), which PostgreSQL moves with it."""
        if self.before is None or not schema:
            return
        if self.relation_kind(moved) == "sequence":
            self.history.moved_sequences[last(moved)] = schema
            return
        origin = self.before_origin(moved)
        if origin is None:
            return
        table = origin[0].qualified_name  # (as the database names it, and its sequences)
        for sequence in self.before.sequences:
            if sequence.owned_by and sequence.owned_by.rpartition(".")[0] == table:
                self.history.moved_sequences[sequence.name] = schema

    def _hold_checks(self, table: str) -> None:
        """Put the NOT VALID `CHECK (col IS NOT NULL)` and NOT NULL constraints the schema
        before gives `table` into the history's pending checks, at the first statement on
        the table: from there the history follows them (VALIDATE CONSTRAINT makes one a
        proof that its column is NOT NULL; renames of it, its column and its table carry
        it)."""
        history = self.history
        if last(table) in history.checks_held:
            return
        history.checks_held.add(last(table))
        relation = self.before_relation(table)
        if relation is None or history.table_key(table) in history.fk_tables:
            return  # (the migrations created it, or dropped the database's)
        for con in relation.constraints:
            if con.kind == "check" and not con.validated:
                column = _not_null_check(con.definition)
                if column is not None:
                    history.pending_checks.setdefault((last(table), con.name), column)
        for col in relation.columns:  # PostgreSQL 18's `NOT NULL col NOT VALID`
            if col.not_null_not_valid and col.not_null_name is not None:
                history.pending_checks.setdefault((last(table), col.not_null_name), col.name)

    def _hold_column(self, table: str, column: str) -> None:
        """Put what is known of `table.column` (its facts; a validated CHECK proving it NOT
        NULL) into the history, where a rename of the column or the table carries it: the
        schema before names it by its old name."""
        columns = self.history.columns.get(last(table), {})
        if column not in columns:
            known = self.column(table, column)
            if known is not None:
                self.history.columns.setdefault(last(table), columns)[column] = known
        if self.proven_not_null(table, column):
            self.history.not_null_proofs.setdefault(last(table), set()).add(column)

    def _one_table_per_name(self, statement: Statement) -> None:
        """Switch the history to the schema of each table `statement` works on
        (`History.switch_schema`): the one its name resolves to on the search_path in force
        (`_key`), or the one it creates a table in; a name found nowhere switches nothing."""
        kind = statement.kind
        if kind not in _NAMES_A_TABLE:
            return  # (most statements: no path to look up)
        at = statement.index
        path = self._paths[at] if at in self._paths else self._path_of(self.history)
        named: list[str] = []
        if kind == "CreateStmt":
            made = self._creation_key(statement, at, path)
            if made is not None and "." in made:
                schema, _, table = made.rpartition(".")
                self.history.switch_schema(table, last(schema), made=True)
        elif statement.kind in ("AlterTableStmt", "AlterObjectSchemaStmt") or (
                statement.kind == "RenameStmt" and statement.rename is not None and
                statement.rename.object in ("table", "foreign table", "column", "constraint")):
            named += [range_var(statement.node.get("relation")) or ""]
        elif statement.kind == "IndexStmt" and statement.index_def is not None:
            named += [statement.index_def.table]
        elif statement.kind == "DropStmt" and statement.object_kind == "table":
            named += statement.dropped
        for name in named:
            key = self._key(self._created_at, name, at, path) if name else None
            if key is not None:
                schema, _, table = key.rpartition(".")
                self.history.switch_schema(table, last(schema))
        rename = statement.rename
        if statement.kind == "RenameStmt" and rename is not None and rename.relation and \
                rename.object in ("table", "foreign table"):
            key = self._key(self._created_at, rename.relation, at, path)
            if key is not None:  # (the name it takes: of that schema too)
                self.history.switch_schema(rename.new, last(key.rpartition(".")[0]))

    def _note_descendants(self, statement: Statement) -> None:
        """Tell an ALTER TABLE, or a column's or constraint's RENAME, written without ONLY the
        tables below its table (`Statement.descendants`): the history's, and the database's
        when linting against one. Tell an ALTER TABLE whether its table is a partitioned one
        (`Statement.partitioned`)."""
        rename = statement.rename
        altered = statement.kind == "AlterTableStmt" and statement.object_kind == "table"
        # (CREATE INDEX without ONLY on a partitioned table builds it on each partition, all
        # locked SHARE to the end of the transaction: pg_locks, PostgreSQL 18)
        indexed = statement.kind == "IndexStmt" and statement.index_def is not None and \
            not statement.index_def.concurrent
        partitioned = (altered or indexed) and bool(statement.relation) and \
            self.partitioned(statement.relation or "")
        rebuilt = rebuilt_table(statement)  # (VACUUM FULL, CLUSTER, REINDEX TABLE)
        if rebuilt is not None:
            partitioned = self.partitioned(rebuilt)
        if partitioned != statement.partitioned:
            statement.partitioned, statement.locks = partitioned, None
        renamed = statement.kind == "RenameStmt" and rename is not None and \
            rename.object in ("column", "constraint")
        if not (altered or renamed or (indexed and partitioned)) or not statement.relation \
                or not (statement.node.get("relation") or {}).get("inh"):
            return
        found: dict[str, str] = {}
        todo = [statement.relation]
        while todo:
            table = todo.pop()
            kids = dict(self.history.children.get(last(table), {}))
            if self.before is not None:
                for relation in self.before.relations:
                    if relation.partition_of and same_relation(relation.partition_of, table):
                        kids.setdefault(relation.qualified_name, "partition")
                    elif any(same_relation(p, table) for p in relation.inherits):
                        kids.setdefault(relation.qualified_name, "inherits")
            for kid, how in kids.items():
                if indexed and how != "partition":
                    continue  # (an index is not built on a table that inherits)
                if not any(same_relation(kid, seen) for seen in (*found, statement.relation)):
                    # (for an index: one with no rows of its own, built on its partitions)
                    found[kid] = "partitioned" if indexed and self.partitioned(kid) else how
                    todo.append(kid)
        descendants = tuple(found.items())
        if descendants != statement.descendants:
            statement.descendants, statement.locks = descendants, None

    def note_foreign_keys(self, statement: Statement) -> None:
        """Tell an ALTER TABLE or DROP TABLE the foreign keys its tables have before it
        (`Statement.foreign_keys`): dropping one locks the table it references; and an
        ALTER TABLE that changes a column's type or drops with CASCADE the keys to its table
        (`Statement.keys_to`, `Statement.unique_keys`): it locks the tables that hold them;
        and which of its column changes only touch the catalog (`Statement.catalog_only`). Tell an
        `ALTER TABLE|INDEX ... RENAME` what it renames (`resolve_rename`)."""
        self._one_table_per_name(statement)
        self._note_descendants(statement)
        rename = statement.rename
        if statement.kind == "RenameStmt" and rename is not None and rename.relation and \
                rename.object in _PERMISSIVE and rename.relation_kind == rename.object:
            # `ALTER TABLE ix RENAME` of an index renames the index.
            resolve_rename(statement, self.relation_kind(rename.relation))
            rename = statement.rename
        if statement.kind == "RenameStmt" and rename is not None and \
                rename.object in ("type", "domain") and self.before is not None:
            # The history renames the type in the columns it holds (an enum recreated under
            # its old name): it holds the database's columns of that type too.
            old = last(rename.old)
            for relation in self.before.relations:
                for col in relation.columns:
                    known = type_from_text(col.type)
                    if known is not None and known.name == old:
                        self._hold_column(relation.qualified_name, col.name)
            return
        if statement.kind == "RenameStmt" and rename is not None and \
                rename.object == "index" and rename.relation:
            # The history follows the index to its table, and the constraint it backs.
            table = self.index_table(rename.relation) or self._key_table(rename.relation)
            if table is not None:
                if last(rename.relation) not in self.history.index_tables:
                    self.history.index_tables[last(rename.relation)] = last(table)
                    if "." in table:
                        self.history.index_schemas[last(rename.relation)] = \
                            table.rpartition(".")[0]
                self._hold_unique_keys(table)
            return
        if statement.kind == "RenameStmt" and rename is not None and rename.relation and \
                rename.object in ("table", "foreign table"):
            self._hold_table(rename.relation)
        if statement.kind == "AlterObjectSchemaStmt" and statement.node.get("objectType") in (
                "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE"):
            moved = range_var(statement.node.get("relation"))
            if moved:  # (the history's names are unqualified: they hold across schemas)
                self._follow_sequences(moved, statement.node.get("newschema") or "")
                self._hold_table(moved)
            return
        if statement.kind == "RenameStmt" and rename is not None and \
                rename.object in ("column", "constraint") and statement.relation:
            self._hold_checks(statement.relation)
            if rename.object == "column":
                self._hold_column(statement.relation, rename.old)
            # The history follows the rename in what it holds: the table's own keys, the
            # other tables' keys to it and its primary key and unique constraints.
            self._remember(self.foreign_keys(statement.relation))
            self._remember(fk for fk in self._keys_to([statement.relation])
                           if fk.holder != self.history.table_key(statement.relation))
            self._hold_unique_keys(statement.relation)
            return
        if statement.kind == "DropStmt" and statement.object_kind in RELATION_KINDS:
            self._drop_absent_relations(statement)
        if statement.kind == "DropStmt" and statement.object_kind == "index":
            if statement.node.get("behavior") == "DROP_CASCADE" and \
                    not statement.node.get("concurrent"):
                resting = tuple(fk for name in statement.dropped
                                for fk in self._keys_resting_on_index(name))
                self._remember(resting)
                if resting != statement.keys_to:
                    statement.keys_to, statement.locks = resting, None
            return
        if statement.kind == "AlterTableStmt" and statement.object_kind == "table":
            self._drop_existing_columns(statement)
            self._drop_absent_columns(statement)
            tables: Sequence[str] = (statement.relation,) if statement.relation else ()
        elif statement.kind == "DropStmt" and statement.object_kind == "table":
            tables = statement.dropped
        else:
            return
        found = tuple(fk for table in tables for fk in self.foreign_keys(table))
        if statement.kind == "DropStmt" and statement.node.get("behavior") == "DROP_CASCADE":
            # CASCADE also drops the other tables' keys to them, from those tables.
            found += tuple(fk for fk in self._keys_to(tables) if fk not in found)
        keys_to: tuple[ForeignKey, ...] = ()
        unique: tuple[tuple[str, tuple[str, tuple[str, ...]]], ...] = ()
        included: tuple[tuple[str, str, ForeignKey], ...] = ()
        if statement.kind == "AlterTableStmt" and statement.relation:
            keys = self._hold_unique_keys(statement.relation)
            self._hold_checks(statement.relation)
            for action in statement.actions:
                if action.name and action.subtype in _COLUMN_CHANGES:
                    # The history records the change on what the database's column is
                    # (its NOT NULL, its type), not on a column it knows nothing else of.
                    self._hold_column(statement.relation, action.name)
                elif action.subtype == "AddConstraint" and action.constraint is not None \
                        and action.constraint.kind == "primary":
                    # (a primary key makes its columns NOT NULL: bytebase's `ADD PRIMARY
                    # KEY (project, id)` left `task.id` of unknown type before task 469)
                    for name in action.constraint.columns:
                        self._hold_column(statement.relation, name)
        if statement.kind == "AlterTableStmt" and statement.relation and any(
                a.subtype == "AlterColumnType" or a.cascade for a in statement.actions):
            primary = next((columns for kind, columns in keys.values() if kind == "primary"),
                           ())
            unique = tuple(keys.items())
            keys_to = tuple(
                fk if fk.referenced_columns else dataclasses.replace(
                    fk, referenced_columns=primary)
                for fk in self._keys_to(tables)
                if fk.holder != self.history.table_key(tables[0]))
            self._remember(keys_to)
            own = [fk if fk.referenced_columns else dataclasses.replace(
                       fk, referenced_columns=primary)
                   for fk in found
                   if same_relation(fk.referenced, self.history.table_key(tables[0]))]
            included = tuple(
                (action.name, index, fk)
                for action in statement.actions
                if action.subtype == "DropColumn" and action.cascade and action.name
                for index in self._including(tables[0], action.name)
                for fk in ([fk for fk in (*keys_to, *own) if fk.rests_on(*keys[index])]
                           if index in keys else self._keys_resting_on_index(index)))
            self._remember(fk for _, _, fk in included)
        self._remember(found)
        quick = tuple((a.subtype, a.name) for a in statement.actions
                     if a.name and statement.relation and self._quick(statement.relation, a))
        table_keys = tuple(self.history.table_key(t) for t in tables)
        if (found, keys_to, unique, quick, included, table_keys) != (
                statement.foreign_keys, statement.keys_to, statement.unique_keys,
                statement.catalog_only, statement.resting_on_included,
                statement.table_keys):
            statement.foreign_keys, statement.keys_to = found, keys_to
            statement.unique_keys, statement.catalog_only = unique, quick
            statement.resting_on_included = included
            statement.table_keys = table_keys
            statement.locks = None  # predicted before the history's facts were known

    def _drop_absent_relations(self, statement: Statement) -> None:
        """`DROP ... IF EXISTS` of a relation the migrations already removed drops nothing
        (PostgreSQL skips it with a notice and locks no table): one dropped before, renamed
        away, or in a schema dropped with CASCADE since (and not made again); an index of a
        primary key or unique constraint dropped before -- it goes with its constraint --
        or renamed to a constraint's name by `ADD CONSTRAINT ... USING INDEX`. Marquez's
        V43 drops `jobs_namespace_uuid_name_key` as a constraint and then as an index; each
        later `DROP INDEX IF EXISTS` of it was a false DBS103 (and DBS114); graphile/
        starter's `DROP TABLE IF EXISTS app_public.x` after `DROP SCHEMA app_public CASCADE`
        a false DBS201 (and DBS115)."""
        if not statement.node.get("missing_ok"):
            return
        gone = [name for name in statement.dropped if self.history.kind_of(name) == ""]
        observed = statement.observed
        if observed is not None and statement.origin is None:
            # Captured as it ran: a relation PostgreSQL locked nothing of was not there
            # (Open WebUI's `DROP TABLE IF EXISTS _alembic_tmp_tag`, a table its history never
            # made: a false DBS201 refused the upgrade).
            gone += [name for name in statement.dropped if name not in gone and not any(
                same_relation(name, held) for held, _mode, _kind in observed.held)]
        if gone:
            statement.dropped = tuple(name for name in statement.dropped if name not in gone)
            statement.locks = None

    def _drop_existing_columns(self, statement: Statement) -> None:
        """`ADD COLUMN IF NOT EXISTS` of a column the table has before the statement adds
        nothing (PostgreSQL skips it with a notice: no rewrite, no NOT NULL check, the
        column keeps its type): its action keeps only the ACCESS EXCLUSIVE lock every
        ALTER TABLE takes, and the statement no longer holds the column definition the
        rules read (temporal's combined_v1.10_v1.13.sql re-adds the columns of the
        migrations before it: each was a false DBS109)."""
        table = statement.relation
        if not table or not any(a.if_not_exists and a.column is not None
                                for a in statement.actions):
            return
        existing = {a.name for a in statement.actions
                    if a.if_not_exists and a.column is not None and a.name
                    and self.column(table, a.name) is not None}
        if not existing:
            return
        statement.actions = tuple(
            dataclasses.replace(a, column=None) if a.if_not_exists and a.name in existing
            else a for a in statement.actions)
        statement.columns = tuple(c for c in statement.columns if c.name not in existing)
        statement.locks = None

    def _drop_absent_columns(self, statement: Statement) -> None:
        """`DROP COLUMN IF EXISTS` of a column the migrations already dropped (and did not
        add again) drops nothing: PostgreSQL skips it with a notice, no data is lost; the
        ALTER TABLE still takes its ACCESS EXCLUSIVE lock (pg_locks, PostgreSQL 18). Its
        action keeps no column name (conductor's V6__update_pk.sql drops `queue_message.id`
        again after V5 dropped it: a false DBS202). So is one of a column the table lacks in
        the schema before, when the migrations neither made the table nor renamed a column
        of it (they did not add it either: `column` would know it); and one a table the
        migrations created lacks, where the history knows its every column (`History.whole`:
        a plain CREATE TABLE, nothing since that could give it columns lint does not see)."""
        table = statement.relation or ""
        dropped = self.history.columns_dropped.get(last(table), set())
        made_in = self.history.whole.get(last(table))
        # (the history's names are unqualified: the CREATE's schema and the ALTER's agree,
        # or one leaves it out and the other says public)
        whole = made_in is not None and (table.rpartition(".")[0] == made_in or
                                         {made_in, table.rpartition(".")[0]} <= {"", "public"})

        def absent(action: Action) -> bool:
            if action.subtype != "DropColumn" or not action.if_exists or not action.name:
                return False
            if action.name in dropped:
                return True
            history = self.history
            if whole:
                return action.name not in history.columns.get(last(table), {})
            return (self.before_relation(table) is not None
                    and last(table) not in history.created_kinds
                    and last(table) not in history.columns_renamed
                    and self.column(table, action.name) is None)

        if not any(absent(a) for a in statement.actions):
            return
        statement.actions = tuple(dataclasses.replace(a, name=None) if absent(a) else a
                                  for a in statement.actions)
        statement.locks = None

    def never_immutable_function(self, name: str) -> bool:
        """Is a call of user function `name` refused wherever PostgreSQL requires IMMUTABLE
        (an index, a generation expression)? When each function of that name, created earlier
        in the history or in the schema before, is one (`statement.never_immutable`: a
        PL/pgSQL one declared STABLE, a SQL one PostgreSQL never inlines, ...), the
        functions their bodies call judged alike; False for a name neither knows. Only the
        functions the call may reach count: a qualified name's of its schema, an unqualified
        one's of the schemas of the search_path in force (`statement_path`; any schema's
        in a body, which may run under another path)."""
        judging: set[str] = set()

        def judged(called: str, path: tuple[str, ...] | None = None) -> bool:
            schema, _, bare = called.rpartition(".")
            definitions = self._function_definitions(bare, (schema,) if schema else path)
            if called in judging or not definitions:
                return False  # (a function its own body calls: not known while judged)
            judging.add(called)
            try:
                return all(never_immutable(d, judged, self.never_inlined_function)
                           for d in definitions)
            finally:
                judging.discard(called)

        return judged(name, self.statement_path())

    def never_inlined_function(self, name: str) -> bool:
        """Does PostgreSQL call user function `name` with its arguments as written, never
        inlining it? When each function of that name, created earlier in the history or in
        the schema before, is one (`statement.never_inlined`: PL/pgSQL, C, a SQL one it
        never inlines); False for a name neither knows (a SQL function it inlines drops an
        argument its body does not use). Only the functions the call may reach count
        (`_reached_definitions`)."""
        definitions = self._reached_definitions(name)
        if name in self._judging_inlined or not definitions:
            return False  # (met again while judged: not known)
        self._judging_inlined.add(name)
        try:
            return all(never_inlined(d, self.never_immutable_function) for d in definitions)
        finally:
            self._judging_inlined.discard(name)

    def parameter_types(self, name: str, count: int) -> tuple[TypeName | None, ...] | None:
        """The declared types of the `count` input parameters a call of user function `name`
        (as written: qualified or not) passes its positional arguments to, when every
        function of that name and that many input parameters the history or the schema
        before holds declares the same ones (overloads that differ, or none known: None).
        A type whose spelling dbsafe cannot read is None in its place."""
        schema, _, bare = name.rpartition(".")
        path = (last(schema),) if schema else self.statement_path()
        found = {_signature(d) for d in self._function_definitions(bare, path)
                 if len(_signature(d)) == count}
        if len(found) != 1:
            return None
        definition = next(d for d in self._function_definitions(bare, path)
                          if len(_signature(d)) == count)
        return tuple(type_name(item.get("FunctionParameter", {}).get("argType"))
                     for item in definition.node.get("parameters") or ()
                     if item.get("FunctionParameter", {}).get("mode") not in (
                         "FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"))

    def strict_function(self, name: str) -> bool:
        """Is each function `name` the history or the schema before has declared STRICT (a
        call with a NULL argument is NULL, never run)? False for a name neither knows. Only
        the functions the call may reach count (`_reached_definitions`)."""
        definitions = self._reached_definitions(name)
        return bool(definitions) and all(declared_strict(d) for d in definitions)

    def _reached_definitions(self, name: str) -> list[Statement]:
        """The `CREATE FUNCTION`s, the history's or the schema before's, a call of `name`
        (as written) may reach: a qualified name's of its schema, an unqualified one's of
        the schemas of the search_path in force (`statement_path`), never another
        schema's: a STRICT or never-inlined `audit.f()` says nothing of `public.f()`."""
        schema, _, bare = name.rpartition(".")
        return self._function_definitions(bare, (last(schema),) if schema
                                          else self.statement_path())

    def shadows_catalog(self, name: str) -> bool:
        """May an unqualified call of `name` be a user function's even where pg_catalog has
        a function of that name? When the search_path in force names pg_catalog after a
        schema the history or the schema before has a function `name` in (`SET search_path
        = public, pg_catalog`): PostgreSQL then takes that schema's one of the same argument
        types. Not when pg_catalog comes first (unnamed, or named first)."""
        path = self.history.search_path_now()
        if "pg_catalog" not in path:
            return False
        earlier = set(path[:path.index("pg_catalog")])
        schemas = set(self.history.function_schemas.get(last(name), ()))
        before = _snapshot_functions(self.before) if self.before is not None else {}
        schemas.update(_function_schema(d) or "" for d in before.get(last(name), ()))
        return bool(schemas & earlier)

    def unread_call(self, node: Node) -> str | None:
        """Why the SQL that a user function the statement tree `node` calls runs is not
        linted: the function, or one its body calls (followed through PL/pgSQL and SQL
        bodies), builds SQL at run time, is written in a language dbsafe does not read, or
        has a body PostgreSQL's grammar rejects (`unread_function`); None where each one
        called is read, or none is known. Each function is the last definition of its
        signature the history ran, else the schema before's (ovh/cds builds its indexes and
        keys by `SELECT create_index('t', 'ix', 'c')`, whose body `EXECUTE`s the SQL it
        builds: a plain `CREATE INDEX` on a table with rows passed unseen)."""
        seen: set[str] = set()

        def why(name: str) -> str | None:
            if name in seen:
                return None
            seen.add(name)
            for definition in self._current_definitions(name):
                unread, called = unread_function(definition.sql)
                if unread is not None:
                    return f"`{name}()`, which {unread}"
                for callee in called:
                    found = why(callee)
                    if found is not None:
                        return f"`{name}()`, which calls {found}"
            return None

        for name in function_names(node):
            found = why(name)
            if found is not None:
                return found
        return None

    def unread_indexes(self, statement: Statement) -> list[tuple[str, Lookup]]:
        """(table, `Lookup`) of the indexes a statement running SQL dbsafe cannot read -- a
        `DO` block building SQL (DBS120), or a call of a function that does
        (`unread_call`) -- may build: each string constant it holds taken for a table (its
        last part, folded), each one that is a list of plain names (`'project_id,
        workflow_id'`) for the columns of an index on it. ovh/cds indexes its keys with
        `SELECT create_foreign_key_idx_cascade('FK_X', 'workflow_node_context',
        'application', 'application_id', 'id')`, whose body builds `CREATE INDEX ... ON
        workflow_node_context (application_id)`: DBS117 flagged a later key of that table
        and column. Empty for any other statement."""
        if statement.kind == "DoStmt":
            if statement.unread is None:
                return []
            found: Iterable[str] = do_block_constants(statement)
        elif statement.kind in CALLING_KINDS and not (statement.origin or "").startswith(
                FUNCTION_BODY) and self.unread_call(statement.node) is not None:
            found = string_constants(statement.node)
        else:
            return []
        texts = list(dict.fromkeys(text.lower() for text in found if text))
        lists = (tuple(part.strip().strip('"') for part in text.split(",")) for text in texts)
        columns = sorted({names for names in lists
                          if all(_PLAIN_NAME.fullmatch(name) for name in names)})
        return [(last(text), Lookup(names)) for text in texts for names in columns]


    def _current_definitions(self, name: str) -> list[Statement]:
        """The `CREATE FUNCTION` of each signature of user function `name` (unqualified) as it
        stands: the history's last one, else the schema before's. (The schema's definitions
        are parsed only for a name it has: most calls are of built-ins.)"""
        names = self.cache.get("snapshot_function_names")
        if names is None:
            names = self.cache["snapshot_function_names"] = frozenset(
                f.name for f in self.before.functions) if self.before is not None else frozenset()
        before = _snapshot_functions(self.before) if self.before is not None and name in names \
            else {}
        found: dict[tuple[tuple[str, ...], ...], Statement] = {}
        for definition in [*before.get(name, ()), *(
                d for _, d in self.history.function_definitions.get(name, ()))]:
            found[_signature(definition)] = definition
        return list(found.values())

    def function_definitions(self, name: str) -> list[tuple[str, Statement]]:
        """(schema, `CREATE FUNCTION`) of each user function a call of `name` (as written:
        qualified or not) may reach as it stands now: of each schema it may lie in (a
        qualified name's, else those of the search_path in force) and each signature, the
        history's last definition, else the schema before's."""
        schema, _, bare = name.rpartition(".")
        schemas = (last(schema),) if schema else self.statement_path()
        found: dict[tuple[str, tuple[tuple[str, ...], ...]], Statement] = {}
        before = _snapshot_functions(self.before) if self.before is not None else {}
        for definition in before.get(bare, ()):
            found[(_function_schema(definition) or "", _signature(definition))] = definition
        for on, definition in self.history.function_definitions.get(bare, ()):
            found[(on, _signature(definition))] = definition
        return [(on, definition) for (on, _), definition in found.items() if on in schemas]

    def _function_definitions(self, name: str,
                              schemas: Collection[str] | None = None) -> list[Statement]:
        """Each `CREATE FUNCTION` of user function `name` (unqualified) the history ran or
        the schema before holds: of those `schemas` only, when given."""
        before = _snapshot_functions(self.before) if self.before is not None else {}
        return [*(d for schema, d in self.history.function_definitions.get(name, ())
                  if schemas is None or schema in schemas),
                *(d for d in before.get(name, ())
                  if schemas is None or _function_schema(d) in schemas)]

    def volatile_function(self, name: str) -> bool:
        """Is `name` a user-defined VOLATILE function (created earlier in the history, or in
        the schema before: one of its overloads is)?"""
        schema, _, bare = name.rpartition(".")
        path = (last(schema),) if schema else self.statement_path()
        history = self.history
        if self.before is None:  # (no database: the history's alone)
            return history.function_volatility(name, path) == "volatile"
        volatility = self.cache.get("snapshot_volatility")
        if volatility is None:
            volatility = self.cache["snapshot_volatility"] = _snapshot_volatility(self.before)
        for on in path:  # (the first schema holding one: made here, or the database's)
            known = history.function_volatility(f"{on}.{bare}") or volatility(f"{on}.{bare}")
            if known is not None:
                return known == "volatile"
        return False

    @property
    def timezone_utc(self) -> bool:
        """Has the migration set the session's TimeZone to UTC before the current statement?"""
        return self.history.timezone_utc

    def later(self, statement: Statement | None = None) -> list[Statement]:
        statement = statement or self.current
        return self.statements[statement.index + 1:] if statement else []

    def earlier(self, statement: Statement | None = None) -> list[Statement]:
        statement = statement or self.current
        return self.statements[:statement.index] if statement else []

    # -- findings --------------------------------------------------------------------

    def finding(self, rule: Rule, message: str, *, help: str | None = None,
                subject: str | None = None, statement: Statement | None = None,
                severity: Severity | None = None, table: str | None = None) -> Finding:
        """A finding of `rule` at the current statement. `table`: the table a finding about
        another object (an index) locks; said in its context, and what `--database-url`
        weighs it by (`TABLE_CONTEXT`)."""
        statement = statement or self.current
        location = statement.location if statement else Location(self.migration.path, 1)
        context: tuple[tuple[str, str], ...] = ()
        if table is not None and table != subject:
            context += ((TABLE_CONTEXT, table),)
        if self.migration.revision:
            context += (("Revision", self.migration.revision),)
        if statement is not None and statement.origin:
            context += (("In", statement.origin),)
        if statement is not None and (self.migration.kind == "alembic" or statement.origin):
            # The SQL is not visible in the revision's Python: show what was rendered.
            context += (("Statement", shortened(statement.sql, 300)),)
        return Finding(rule.code, message, severity or rule.severity, location, subject,
                       help, context)


@lru_cache(maxsize=1024)
def _not_null_check(definition: str) -> str | None:
    """The column of a `CHECK (col IS NOT NULL)` that `pg_get_constraintdef` shows as
    `definition` (read by PostgreSQL's grammar); None for any other constraint.

    >>> _not_null_check("CHECK ((qty IS NOT NULL)) NOT VALID"), _not_null_check("CHECK (a > 0)")
    ('qty', None)
    """
    statement = parse_statement(f"ALTER TABLE t ADD CONSTRAINT c {definition}")
    action = statement.actions[0] if statement.actions else None
    con = action.constraint if action is not None else None
    return not_null_check_column(con) if con is not None and con.enforced else None


@lru_cache(maxsize=1024)
def _enforced(definition: str) -> bool:
    """Is the constraint `pg_get_constraintdef` shows as `definition` enforced (read by
    PostgreSQL's grammar: PostgreSQL 18 ends a NOT ENFORCED one so)?

    >>> _enforced("FOREIGN KEY (a) REFERENCES p(id) NOT ENFORCED"), _enforced("UNIQUE (a)")
    (False, True)
    """
    found = parse_statement(f"ALTER TABLE t ADD {definition}")
    return all(con.enforced for con in found.constraints)


def _relations_gone(statement: Statement) -> tuple[str, ...]:
    """The relations `statement` drops or renames away (each as written and unqualified):
    a `CREATE ... IF NOT EXISTS` of the name after it creates the relation anew."""
    if statement.kind == "DropStmt" and statement.object_kind in RELATION_KINDS:
        return tuple(n for name in statement.dropped for n in (name, last(name)))
    rename = statement.rename
    if rename is not None and rename.relation and rename.object in RELATION_KINDS:
        return rename.relation, last(rename.relation)
    return ()


# -- parsing -----------------------------------------------------------------------------


_ENDS = frozenset({"commit", "rollback", "prepare"})
# The statement kinds that may set the search_path (`History.follow_search_path`): SET, and
# a SELECT of set_config().
_MAY_SET_SEARCH_PATH = frozenset({"VariableSetStmt", "SelectStmt"})
# The statement kinds that store settings for later sessions (`History._store_path`).
_STORES_SETTINGS = frozenset({"AlterDatabaseSetStmt", "AlterRoleSetStmt"})


def _same_path(one: Sequence[str], other: Sequence[str]) -> bool:
    """Do two search_paths look names up in the same schemas, in the same order? (`"$user"`
    left out, and pg_catalog, which the database's session's names and a SET need not.)"""
    def schemas(path: Sequence[str]) -> list[str]:
        return [name for name in path if name not in ("$user", "pg_catalog")]
    return schemas(one) == schemas(other)
# The statement kinds `LintContext._one_table_per_name` may switch a table's schema for.
_NAMES_A_TABLE = frozenset({"CreateStmt", "AlterTableStmt", "AlterObjectSchemaStmt",
                            "RenameStmt", "IndexStmt", "DropStmt"})


def _pieces(migration: Migration) -> Iterator[tuple[Any, str, str | None]]:
    """Each statement of the migration as (raw statement, SQL, origin). What a revision ran
    as one `execute()` of several statements (`op.execute("CREATE TABLE a ...; CREATE INDEX
    ...")`) is each of them, marked as such: they share what PostgreSQL showed of the run."""
    import pglast

    for raw in migration.statements:
        body = raw.sql.strip().rstrip(";")
        if ";" in body:
            try:
                texts = list(pglast.split(raw.sql))
            except Exception:  # noqa: BLE001 - rejected: parse_statement reports it
                texts = [raw.sql]
            if len(texts) > 1:
                for text in texts:
                    yield raw, text, f"one execute() of {len(texts)} statements"
                continue
        yield raw, raw.sql, None


def parse_migration(migration: Migration) -> list[Statement]:
    """Parse every statement, expand DO blocks, and work out which run in a transaction."""
    statements: list[Statement] = []
    in_transaction = migration.starts_in_transaction
    previous = None
    for raw, sql, origin in _pieces(migration):
        statement = parse_statement(sql, raw.location, index=len(statements),
                                    in_transaction=in_transaction, generated=raw.generated)
        statement.observed = raw.observed
        if raw is not previous:  # one execute() of several statements waited once
            statement.waited = raw.waited
        previous = raw
        statement.origin = origin
        if statement.transaction == "begin":
            statement.nested = in_transaction
            in_transaction = True
            statement.in_transaction = True
        elif statement.transaction in _ENDS:
            in_transaction = statement.chain  # AND CHAIN opens the next one at once
        statements.append(statement)
        if statement.kind == "DoStmt":
            for inner in do_block_statements(statement):
                inner.index = len(statements)
                inner.observed = raw.observed  # the DO statement's run is its body's run
                statements.append(inner)
        elif statement.kind == "CreateFunctionStmt":
            for inner in function_body_statements(statement):
                inner.index = len(statements)
                statements.append(inner)
    return statements


# -- the run loop ------------------------------------------------------------------------


def select_rules(rules: Sequence[Rule], select: Sequence[str] = (),
                 ignore: Sequence[str] = ()) -> list[Rule]:
    """Rules whose code matches a `select` prefix (default: enabled ones) and no `ignore`.

    Codes are validated against the whole catalog by the caller (`commands.check_codes`):
    a prefix here may name codes that are not statement rules (DBS211, DBS0xx).
    """
    chosen = []
    for rule in rules:
        if select:
            if not any(rule.code.startswith(c.upper()) for c in select):
                continue
        elif not rule.default_enabled:
            continue
        if any(rule.code.startswith(c.upper()) for c in ignore):
            continue
        chosen.append(rule)
    return chosen


# A plain (folded) name, as a column of an index a string may list.
_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_$]*")

# Statements that call functions as they run (DBS120 follows what the functions run).
CALLING_KINDS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt",
                           "MergeStmt", "CallStmt"})


# What a migration may run and still change no schema: its rows, its session's settings,
# transaction control. A function a SELECT calls may still change one (TimescaleDB's
# `create_hypertable`); `dbsafe upgrade`'s rollback compares the schema and says so (DBS603).
DATA_ONLY_KINDS = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                             "SelectStmt", "CopyStmt", "VariableSetStmt", "VariableShowStmt",
                             "TransactionStmt"})


def changes_no_schema(statements: Sequence[Statement]) -> bool:
    """Did a migration run only statements of `DATA_ONLY_KINDS`, or none (a branch for
    another database, Superset's MySQL-only revisions)? Its empty downgrade() then takes
    the schema back (DBS210, `dbsafe upgrade`'s DBS602)."""
    return all(s.kind in DATA_ONLY_KINDS for s in statements if not s.generated)


def lint_migration(migration: Migration, rules: Sequence[Rule], *,
                   report_unparsed: bool = True,
                   renames: dict[tuple[Location, str], str] | None = None,
                   schema_kept: list[Migration] | None = None,
                   row_changes: RowChanges | None = None,
                   origins: dict[Finding, Mapping[str, str]] | None = None,
                   paths: dict[Finding, tuple[str, ...]] | None = None,
                   fills: dict[Finding, Mapping[str, str]] | None = None,
                   **context: Any) -> list[Finding]:
    """Run `rules` over one migration; `context` fills `LintContext` fields.

    Pass `history=` (a `History`) to lint the migration with what earlier migrations built;
    it is updated with this migration's statements. `renames`, when given, gets what each
    `ALTER TABLE|INDEX ... RENAME` of another kind of relation renames (`resolve_rename`),
    by the statement's (location, SQL): DBS211 reads the renames with it. `schema_kept`, when
    given, gets the migration if it `changes_no_schema` (`dbsafe upgrade`: its empty
    downgrade() is a way back). `row_changes`, when given, gets what its statements may change
    of the rows (`dbsafe upgrade` reads those tables before it, DBS614). `origins`, when
    given, gets each finding of a statement after the migrations renamed a table, with the
    renames as that statement read them (`History.origins`): `--database-url` weighs it by
    the size of the database's table its subject names (`database_name`). `paths`, when
    given, gets each finding of a statement a search_path the migrations set (or env.py, as
    the capture's generated SET says) is in force for, with that path: its unqualified names
    are the tables of that path's schemas. `fills`, when given, gets each finding made while
    a statement had filled a relation the migrations created (`History.filled` then; for a
    finding about the migration as a whole, at its end): `--database-url` cannot tell the
    size of such a table.
    """
    statements = parse_migration(migration)
    if schema_kept is not None and changes_no_schema(statements):
        schema_kept.append(migration)
    if row_changes is not None:
        row_changes.add(migration.revision or migration.path, statements,
                        cut_short=migration.cut_short)
    ctx = LintContext(migration, statements, **context)
    dispatch = _dispatch(rules)
    claims = {rule.code: rule.claim for rule in rules if rule.claim}
    findings: list[Finding] = []
    history = ctx.history
    # Which table each earlier migration's index is on: DROP INDEX locks the table. And
    # which relations earlier migrations created (`new_to_database`).
    index_tables = dict(history.index_tables)
    created_kinds = dict(history.created_kinds)  # (`History._note_kind_of` copies on write)
    for statement in statements:
        ctx.current = statement
        ctx.note_foreign_keys(statement)
        found_before = len(findings)
        skipped = ctx.skips_table(statement)
        if not statement.generated and not skipped:
            if statement.error is not None:
                if report_unparsed:
                    findings.append(_rejected(statement, ctx))
            elif statement.kind:
                checks = dispatch.get(statement.kind)
                if checks is None:
                    checks = dispatch[""]
                if statement.observed is None:
                    for check in checks:
                        findings.extend(check(statement, ctx))
                else:
                    found = [f for check in checks for f in check(statement, ctx)]
                    findings.extend(_confirm(found, statement, claims))
        if origins is not None and history.origins and len(findings) > found_before:
            renamed = dict(history.origins)  # (as it stands now: later renames change it)
            origins.update((finding, renamed) for finding in findings[found_before:])
        if fills is not None and history.filled and len(findings) > found_before:
            fills.update((finding, _filled_now(history)) for finding in findings[found_before:])
        if paths is not None and len(findings) > found_before and (
                history.search_path is not None or history.local_search_path is not None):
            path = history.search_path_now()
            paths.update((finding, path) for finding in findings[found_before:])
        if not statement.generated and statement.kind:
            history.note_unread_indexes(ctx.unread_indexes(statement))
        if not ctx.makes_nothing(statement):
            history.apply(statement)
        if renames is not None and statement.rename is not None and statement.rename.written:
            renames[(statement.location, statement.sql)] = statement.rename.object
    ctx.current = None
    # Migration-level rules walk the statements themselves: only what held before it all
    # (and, in a transaction it shares with the migrations before it, what that holds).
    shared = migration.shares_transaction
    ctx.history = History(index_tables=index_tables, created_kinds=created_kinds,
                          open_locks=history.open_locks if shared else (),
                          open_created=history.open_created if shared else frozenset())
    found_before = len(findings)
    for rule in rules:
        if rule.check_migration is not None:
            findings.extend(rule.check_migration(ctx))
    if fills is not None and history.filled and len(findings) > found_before:
        fills.update((finding, _filled_now(history)) for finding in findings[found_before:])
    if shared:
        from dbsafe.lint.transactions import open_at_end

        history.open_locks, history.open_created = open_at_end(ctx)
    else:
        history.open_locks, history.open_created = (), frozenset()
    # Statements read from one DO block or function body share its location: the same
    # finding on two of them (Thunderdome's trigger function refreshing one view in three
    # branches) is one line of the report, not three identical ones.
    return list(dict.fromkeys(findings))


_last_filled: list[tuple[History, int, Mapping[str, str]]] = []


def _filled_now(history: History) -> Mapping[str, str]:
    """A copy of `history.filled` as it stands, made once per change of it (a history's
    hundreds of findings share it)."""
    if _last_filled:
        held, changes, copy = _last_filled[0]
        if held is history and changes == history.filled_changes:
            return copy
    copy = dict(history.filled)
    _last_filled[:] = [(history, history.filled_changes, copy)]
    return copy


_Checks = dict[str, list[Callable[..., Iterable[Finding]]]]
_last_dispatch: list[tuple[tuple[Rule, ...], _Checks]] = []


def _dispatch(rules: Sequence[Rule]) -> _Checks:
    """Statement kind -> the checks to run on it, in `rules` order ("": any other kind).

    Kept for the last rule list: a history lints hundreds of migrations with the same rules
    (compared by identity; hashing every rule per migration cost more than the lookup).
    """
    if _last_dispatch:
        known, checks = _last_dispatch[0]
        if len(known) == len(rules) and all(a is b for a, b in zip(known, rules)):
            return checks
    kinds = {kind for rule in rules if rule.kinds for kind in rule.kinds}
    checks = {kind: [rule.check for rule in rules if rule.check is not None
                     and (rule.kinds is None or kind in rule.kinds)]
              for kind in (*kinds, "")}
    _last_dispatch[:] = [(tuple(rules), checks)]
    return checks


def _confirm(found: list[Finding], statement: Statement,
             claims: Mapping[str, str]) -> list[Finding]:
    """Findings PostgreSQL did not contradict when the statement ran on a throwaway server.

    A rewrite claimed for a table whose relfilenode did not change is dropped; one that did
    change is marked as confirmed. A lock claimed on a table PostgreSQL did not lock at
    all (`IF EXISTS` on a missing one, a `DO` block's branch not taken), or locked only in a
    mode that blocks no writes, is dropped; one held in a weaker mode than predicted is
    corrected to it; one held as predicted is marked as confirmed. Where PostgreSQL cannot
    tell, the finding stays as it is.

    A statement read from a `DO` block or a function's body is only ever confirmed: the
    throwaway server's empty tables may have taken another branch than production's data
    will (`IF EXISTS (SELECT 1 FROM orders) THEN CREATE INDEX ...`).
    """
    observed = statement.observed
    branch = statement.origin is not None
    kept = []
    for finding in found:
        claim = claims.get(finding.code)
        if claim == "lock" and finding.subject:
            checked = _confirm_lock(finding, statement)
            if branch and (checked is None or not any(
                    key == "Confirmed" for key, _ in checked.context[len(finding.context):])):
                checked = finding
            if checked is None:
                continue
            finding = checked
        elif claim == "rewrite" and finding.subject:
            table = finding.subject.rpartition(".")[0]
            if any(same_relation(table, name) for name in observed.rewritten):
                finding = dataclasses.replace(finding, context=finding.context + (
                    ("Confirmed", f"PostgreSQL rewrote the table on {scratch(article='a')} "
                                  "(its relfilenode changed)"),))
            elif not branch and {kind for name, _mode, kind in observed.held
                                 if same_relation(table, name)} & {"r", "m"}:
                continue  # a table with storage, locked, and its relfilenode unchanged
            # Otherwise PostgreSQL could not tell: a partitioned table has no storage of
            # its own, and a table not seen in pg_locks was not observed.
        kept.append(finding)
    return kept


def _confirm_lock(finding: Finding, statement: Statement) -> Finding | None:
    """The lock finding as PostgreSQL's `pg_locks` showed it (see `_confirm`); None: dropped."""
    from dbsafe.lint.locks import BLOCKS, from_pg_locks, locks_for, strength

    observed = statement.observed
    subject = finding.subject or ""
    owner = subject.rpartition(".")[0]  # `table.column` -> table
    predicted = [lock for lock in locks_for(statement)
                 if lock.relation is not None and lock.target != "type"
                 and (same_relation(lock.relation, subject) or same_relation(lock.relation, owner))]
    if not predicted or observed is None:
        return finding  # the finding names something no predicted lock is on: cannot tell
    lock = max(predicted, key=lambda x: strength(x.mode))
    modes = [m for name, pg_mode, kind in observed.held
             if same_relation(name, lock.relation) and (m := from_pg_locks(pg_mode))
             and (name, pg_mode, kind) not in observed.inherited]
    if (not modes or strength(max(modes, key=strength)) < strength(lock.mode)) and any(
            same_relation(name, lock.relation) for name, _mode, _kind in observed.inherited):
        # An earlier revision of the same transaction locked it: its lock hides this
        # statement's own request of the same mode, and production does not hold it.
        return finding
    if not modes:
        if lock.target != "table":
            # An index dropped by the statement leaves pg_locks a lock on an oid whose
            # pg_class row is gone: its absence proves nothing.
            return finding
        return None  # PostgreSQL took no lock on it: the statement did nothing to it
    mode = max(modes, key=strength)
    name = lock.relation
    article = "an" if mode[0] in "AE" else "a"
    if strength(mode) >= strength(lock.mode):
        own = any(same_relation(n, name) and from_pg_locks(m) == mode
                  for n, m, _kind in observed.locks)
        how = "took" if own else "held"
        since = "" if own else ", taken by an earlier statement of the transaction"
        return dataclasses.replace(finding, context=finding.context + (
            ("Confirmed", f"PostgreSQL {how} {article} {mode} lock on `{name}` on "
                          f"{scratch(article='a')} (pg_locks{since})"),))
    if not BLOCKS[mode][1]:
        return None  # the lock PostgreSQL took blocks no writes: nothing waits
    return dataclasses.replace(
        finding, message=finding.message.replace(lock.mode, mode),
        context=finding.context + (
            ("Corrected", f"PostgreSQL took {article} {mode} lock on `{name}` on "
                          f"{scratch(article='a')} (pg_locks), not {lock.mode} as predicted"),))


def _rejected(statement: Statement, ctx: LintContext) -> Finding:
    error = statement.error
    assert error is not None
    if error.unsendable:
        finding = ctx.finding(_UNPARSED_RULE, f"PostgreSQL never gets this statement whole: "
                                              f"{error.message}.",
                              help="Remove the byte; the file is probably damaged.")
    else:
        finding = ctx.finding(_UNPARSED_RULE, f"PostgreSQL's parser rejects this statement: "
                                              f"{error.message}.",
                              help="Fix the statement's syntax; PostgreSQL would refuse to run it.")
    if ctx.migration.kind == "alembic":
        return dataclasses.replace(finding, context=finding.context + (
            ("Position", f"character {error.offset + 1} of the statement"),))
    return dataclasses.replace(finding, location=offset_location(statement, error.offset))


def offset_location(statement: Statement, offset: int) -> Location:
    """The file location of character `offset` of the statement's SQL."""
    start = statement.location
    before = statement.sql[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        return Location(start.path, start.line, start.column + offset)
    return Location(start.path, start.line + newlines, offset - before.rfind("\n"))


def iter_findings(migrations: Iterable[Migration], rules: Sequence[Rule],
                  **context: Any) -> Iterator[Finding]:
    for migration in migrations:
        yield from lint_migration(migration, rules, **context)


_UNPARSED_RULE = Rule(
    code=UNPARSED.code, name=UNPARSED.name, severity=UNPARSED.default_severity,
    since=UNPARSED.since, doc=UNPARSED_DOC,
)

__all__ = ["UNPARSED", "ColumnFacts", "History", "LintContext", "Rule", "Statement",
           "lint_migration", "parse_migration", "select_rules"]


def named_are(noun: str, names: Sequence[str], suffix: str = "") -> str:
    """How a finding names what it is about, with the verb that agrees.

    >>> named_are("Table", ["a"]), named_are("Column", ["a", "b"], " of `t`")
    ('Table `a` is', 'Columns `a`, `b` of `t` are')
    """
    one = len(names) == 1
    listed = ", ".join(f"`{name}`" for name in names)
    return f"{noun if one else noun + 's'} {listed}{suffix} {'is' if one else 'are'}"

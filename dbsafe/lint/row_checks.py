"""Which statements of the linted revisions validate the rows a table holds, and whether
what the database holds now is what they will meet: `dbsafe upgrade` asks the database
before the first revision whether a row would refuse one (`guard.row_refusals`, DBS615).

Read from the statements each revision ran on the throwaway copy (pglast's trees, no words):
`ALTER COLUMN ... SET NOT NULL`; `ADD CONSTRAINT` (or `ADD` a column-less constraint) CHECK,
FOREIGN KEY or NOT NULL without `NOT VALID`, UNIQUE, PRIMARY KEY or EXCLUDE (`PRIMARY KEY
USING INDEX`: its columns are set NOT NULL; handed on with the plan's CREATE INDEX making the
index, `indexes`); `VALIDATE CONSTRAINT` (of a constraint the plan adds NOT VALID, or
validated, or drops before it: handed on with that, `defined`); `ALTER CONSTRAINT ...
ENFORCED` or `INHERIT` (PostgreSQL 18: a foreign key validated, a NOT NULL given to the
children); `CREATE UNIQUE INDEX`; `CREATE INDEX` with an expression or WHERE a value may fail
(not `WHERE deleted_at IS NULL`); `ALTER COLUMN ... TYPE` (each value cast, or its USING
expression evaluated), `SET EXPRESSION`;
`ADD COLUMN ... NOT NULL` (or a unique key over a DEFAULT, or a CHECK or FOREIGN KEY of the
column's own), unless no row can refuse it (a
constant DEFAULT of a built-in type, an identity: `filled_by_adding`); `ATTACH PARTITION`
(the partition's rows, and its parent's DEFAULT partition's), `CREATE TABLE ... PARTITION OF`
a parent (its DEFAULT partition's rows), handed on with the partitions the plan creates
(`empty`: no rows) and, for any column, the tables changed so far (`changed`); `ALTER DOMAIN`
adding a CHECK or NOT NULL, setting NOT NULL or validating a constraint (every column of the
domain, in any table: handed on with the tables whose rows or columns the plan changed so
far, `changed`); an `INSERT` (the rows it inserts, against its table's NOT NULL, CHECK, unique
and foreign keys: `inserts`, `guard.inserted_rows`; cannot tell where the plan changed the
table's shape before it, `reshaped`, or the rows its SELECT reads (a `DROP INDEX` of the
database's index: handed on, `dropped_indexes`, for the guard to find its table); its keys alone where it
wrote the table before, `keys_unsure`; none into a table the plan made without a constraint);
an `UPDATE` likewise (`updates`, `guard.updated_rows`: the table written before, the rows it
updates, makes it cannot tell; none of a table the plan made and nothing wrote); a `DELETE`
(`deletes`, `guard.deleted_rows`: the rows it deletes, against the foreign keys referencing
them; with the tables the plan reshaped before it, `shaped`, and those it wrote only by
DELETEs whose rows today's rows tell, `deleted`: the rows they leave are asked). A check of
a table the plan wrote only by such DELETEs (`deleted`), or by one UPDATE of it alone, its
first write (`updated`, `_stable_update`), is handed on with them: the guard asks the rows
they leave (task 596).
An enum label the plan adds (`ADD VALUE`) changes no row: the checks after it are handed on
with it (`labels`), a value failing to cast there may be it; one calling `enum_range()`
cannot be told.
The copy has no rows, so none of them failed there. Each is handed on with
why the rows it will meet cannot be told from today's, where an earlier statement of the
plan changes them: any data statement naming a table (`UPDATE`, `DELETE`, `INSERT`, and a
`SELECT`: an ORM data migration only SELECTs on the empty copy, and updates what it finds on
the real rows), or running one (`row_changes.Runs`: `EXPLAIN ANALYZE`, `EXECUTE` of a
`PREPARE`, a table made `AS` a query: its rows are the query's), a DO block, a statement PostgreSQL's parser refused (not of a table a plain CREATE TABLE
makes after it, until a statement writes another table or calls a function: `_made_after`);
DDL renaming, dropping
or creating the table, or adding, dropping or retyping the columns checked; for a foreign
key, any of these on the table it references (for `VALIDATE CONSTRAINT`, whose referenced table the database knows,
the tables changed so far are handed on). The guard then says it could not be
told, and never guesses; a query of its calling a function the plan (re)defined before
(`functions`) too. The functions the plan's data statements call before a check are handed
on with it (`calls`, with what the plan's own `CREATE FUNCTION`s write: `created_functions`;
those DDL evaluates over a table's rows too, `row_changes.evaluated_over_rows`; a
materialized view of the database refreshed, whose query the guard reads: `refreshed`),
for the guard to follow on the database (`guard.called_writes`: PostgreSQL's `sum()` writes
no table, an application's function may); so are the tables the plan's data statements write
before it, with the events they fire there (`writes`), the triggers and foreign keys with a
referential action the plan adds (`triggers`, `actions`) and the tables it enables triggers
of (`enabled_triggers`, rules too), the domains' defaults it gives (`domains`, or as
`defaults` of its columns) and the columns it gives a type of the database's, whose domain's
default the guard looks up (`typed`), or of the database's whose DEFAULT it drops (a
domain's then applies: `undefaulted`), each as it stood when a data statement of the plan ran
(`INSERT` then `ALTER DOMAIN d SET DEFAULT`: the INSERT evaluated the default before; a
trigger made or disabled, a `session_replication_role` SET after the last write: none of
them, `write_roles`), with the tables the plan creates `PARTITION OF` or `INHERITS` a parent
(`created_under`: theirs are the parent's columns), for the guard to follow into the tables they change unnamed
(`guard.reached_rows`: `DELETE FROM parent` nulls a child's key `ON DELETE SET NULL`); after a statement that may change which function
a name reaches (an extension created or changed, a function renamed or moved, an aggregate
created) any call makes the later checks cannot tell. A table the plan creates that no
statement writes asks nothing (one a `CREATE TABLE IF NOT EXISTS` makes is the database's,
PostgreSQL skipping the CREATE where one is there: its checks are handed on with that CREATE,
`unless_there`, for the guard to ask whether it is); after such calls it is handed on (`new`): it is empty unless
a function called writes it. A column retyped earlier is handed on with its `ALTER COLUMN ...
TYPE` (`retyped`): the guard asks the rows when it keeps every value (`integer` to `bigint`,
`guard.kept_types`), says it could not be told otherwise. Each is handed on with the
settings (`search_path`, `TimeZone`, ...: `_PROBED_SETTINGS`) the plan's SET or set_config
gave its session before it, or env.py its connection (the capture's generated SET before each
revision: `SET search_path TO "phx"`) (`settings`), under which the guard asks it. A `SET NOT NULL` of a column an
earlier `ADD COLUMN` of the plan added (and nothing changed since), or the same statement added, is handed on with that statement
(`added`): the column holds its DEFAULT, or NULL in every row, which the guard can tell; so is
any other check over a column an earlier `ADD COLUMN` added (a unique index over it: the
guard asks the rows with the column as added). One
of a column an earlier `UPDATE` of the table (not ONLY) set to a constant not NULL in every row
(no WHERE, FROM or WITH; nothing since changing the table, writing another (a child's NULLs
count) or giving any a child, no trigger, rule or policy made or enabled before it) is handed on with that `UPDATE` (`filled`): no row is NULL, unless a trigger,
rule or row security policy changes what the UPDATE writes, which the guard asks the database.

>>> from dbsafe.lint.statement import parse_statement as p
>>> checks = RowChecks()
>>> checks.add("0005", [p("ALTER TABLE volumes ALTER COLUMN host SET NOT NULL")])
>>> checks.add("0006", [p("UPDATE volumes SET host = 'x' WHERE host IS NULL"),
...                     p("ALTER TABLE volumes ADD CONSTRAINT h CHECK (host <> '')")])
>>> [(c["revision"], c["table"], c["unsure"]) for c in checks.summary() if "updates" not in c]
[('0005', 'volumes', None), ('0006', 'volumes', '0006 runs UPDATE on volumes before it')]
>>> [c["unsure"] for c in checks.summary() if "updates" in c]  # (the UPDATE's own rows)
["0005 runs ALTER TABLE on volumes before it: the columns and constraints of volumes it meets are not today's"]
>>> checks.add("0007", [p("ALTER TABLE hosts ADD COLUMN zone text"),
...                     p("ALTER TABLE hosts ALTER COLUMN zone SET NOT NULL")])
>>> checks.summary()[-1]["added"]
{'zone': 'ALTER TABLE hosts ADD COLUMN zone text'}
>>> checks.add("0008", [p("UPDATE dag SET max_failed = '0'"),
...                     p("ALTER TABLE dag ALTER COLUMN max_failed SET NOT NULL")])
>>> [(c["unsure"], c["filled"]) for c in checks.summary()[-1:]]
[(None, {'max_failed': "UPDATE dag SET max_failed = '0'"})]
>>> checks.add("0009", [p("ALTER TABLE links ADD COLUMN owner bool DEFAULT true NOT NULL"),
...                     p("CREATE UNIQUE INDEX one ON links (project) WHERE owner")])
>>> [(c["unsure"], c["added"]) for c in checks.summary()[-1:]]
[(None, {'owner': 'ALTER TABLE links ADD COLUMN owner bool DEFAULT true NOT NULL'})]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbsafe.lint.row_changes import (
    DATA_KINDS,
    EVENT_BITS,
    Runs,
    called_functions,
    created_function,
    evaluated_over_rows,
    relations,
    written_tables,
)
from dbsafe.lint.statement import (
    expression_columns,
    last,
    range_var,
    same_relation,
    setting_changes,
    strings,
    walk,
)
from dbsafe.pg.types import SERIAL_TYPES

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence, Set

    from dbsafe.lint.statement import ColumnDef, Statement

# ALTER TABLE subcommands that check every row the table holds.
# (SET EXPRESSION: a generated column's values written again, as a retype's)
_VALIDATING = frozenset({"SetNotNull", "ValidateConstraint", "AlterColumnType", "SetExpression"})
_VALIDATING_CONSTRAINTS = frozenset({"check", "foreign", "unique", "primary", "not_null",
                                     "exclusion"})
# ALTER TABLE subcommands after which a column's values are not today's.
# (ADD COLUMN: `_added`, since a SET NOT NULL of it can still be told; ALTER COLUMN ... TYPE:
# `_retyped`, since the guard tells a change keeping every value.)
_COLUMN_CHANGES = frozenset({"DropColumn", "SetExpression"})
# Built-in types, which hold no constraint of their own (a domain's may refuse a DEFAULT, or
# the NULL a column added without one holds: `ADD COLUMN c d` of `CREATE DOMAIN d AS int NOT
# NULL` fails over rows, 23502). Every base, range and multirange type of PostgreSQL 18's
# pg_catalog (which holds no domain), by the name an unqualified one resolves to: a nullable
# `ADD COLUMN search_vector tsvector` asked the rows as a possible domain, and said "cannot
# tell" after a data migration of the table (Open-Assistant's 1b6e3ae16e9d, task 475).
_BUILT_IN = frozenset("""
    int2 int4 int8 numeric float4 float8 bool text varchar bpchar char name date time timetz
    timestamp timestamptz interval uuid json jsonb jsonpath bytea inet cidr macaddr macaddr8
    money bit varbit xml tsvector tsquery gtsvector point line lseg box path polygon circle
    int4range int8range numrange daterange tsrange tstzrange int4multirange int8multirange
    nummultirange datemultirange tsmultirange tstzmultirange oid regclass regcollation
    regconfig regdictionary regnamespace regoper regoperator regproc regprocedure regrole
    regtype xid xid8 cid tid aclitem refcursor int2vector oidvector pg_lsn pg_snapshot
    txid_snapshot pg_node_tree pg_ndistinct pg_dependencies pg_mcv_list
    pg_brin_bloom_summary pg_brin_minmax_multi_summary""".split())
# Functions a migration's driver or env.py calls that write no table (a session setting).
_READS_ONLY = frozenset({"set_config", "current_setting", "current_schema", "version"})
# Relations dbsafe never counts as the application's: alembic's own bookkeeping, catalogs.
_NOT_APPLICATION = ("pg_catalog.", "information_schema.", "pg_")


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """What the plan does before a statement validating rows, as its check hands it on
    (`RowChecks.summary()`, a key left out: nothing) for the guard's questions of the rows.

    >>> facts = PlanFacts.of({"sql": "...", "added": {"zone": "ALTER TABLE h ADD zone text"}})
    >>> facts.added, facts.changed, facts.empty
    ({'zone': 'ALTER TABLE h ADD zone text'}, {}, ())
    """

    # tables an earlier statement changes the rows of (table -> why), handed on for `VALIDATE
    # CONSTRAINT`, whose referenced table the database knows
    changed: Mapping[str, str] = field(default_factory=dict)
    # columns an earlier `ADD COLUMN` (or the statement itself) added: column -> that statement
    added: Mapping[str, str] = field(default_factory=dict)
    # types an earlier statement makes that hold no constraint (an enum: not there to look up)
    plain_types: frozenset[str] = frozenset()
    # partitions the plan creates (no rows), attached or created by the statement
    empty: tuple[str, ...] = ()
    # columns an earlier `UPDATE` of every row set to a constant: column -> that UPDATE
    filled: Mapping[str, str] = field(default_factory=dict)
    # indexes an earlier statement creates: name -> its CREATE INDEX
    indexes: Mapping[str, str] = field(default_factory=dict)
    # constraints an earlier statement adds or drops before VALIDATE CONSTRAINT validates
    # them: name -> its ADD CONSTRAINT ... NOT VALID ("": added validated; None: dropped)
    defined: Mapping[str, str | None] = field(default_factory=dict)
    # (an INSERT) why the rows of its table are not today's, where those it reads are: the
    # keys it inserts cannot be held against them
    keys_unsure: str | None = None
    # (a DELETE) tables whose columns, constraints, indexes, triggers or rules an earlier
    # statement changes (table -> why): a foreign key of one referencing it is not today's
    shaped: Mapping[str, str] = field(default_factory=dict)
    # (a DELETE) tables of `changed` the plan wrote only by DELETEs whose rows today's rows
    # tell (table -> those DELETEs): the rows they leave are today's their WHEREs do not keep;
    # (an ALTER TABLE, a CREATE INDEX) its own table, so written
    deleted: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # (an ALTER TABLE, a CREATE INDEX) its table, which one UPDATE alone wrote before, whose
    # rows today's rows tell (table -> that UPDATE): today's, each its WHERE keeps with its
    # SET evaluated over it
    updated: Mapping[str, str] = field(default_factory=dict)
    # the plan's earlier `ALTER COLUMN ... TYPE` of the columns checked: [why, statement,
    # column] each (a `SET NOT NULL` after one cast as it is asks the rows as cast)
    retyped: tuple[tuple[str, str, str], ...] = ()
    # (an INSERT, an UPDATE) the database's indexes an earlier DROP INDEX drops: name ->
    # why; a unique one of its table refuses no row (`guard.inserted_rows.unique_probes`)
    dropped_indexes: Mapping[str, str] = field(default_factory=dict)
    # (an INSERT, its keys unsure) the plan's writes of its table before it, when they are
    # all: INSERTs of told rows, UPDATEs (their keys the guard holds against its own)
    keys_written: tuple[str, ...] = ()

    @classmethod
    def of(cls, check: Mapping[str, Any]) -> PlanFacts:
        """The facts `check` (one of `RowChecks.summary()`, as lint's report hands it on)
        holds."""
        return cls(changed=dict(check.get("changed") or {}), added=dict(check.get("added") or {}),
                   plain_types=frozenset(check.get("plain_types") or ()),
                   empty=tuple(check.get("empty") or ()), filled=dict(check.get("filled") or {}),
                   indexes=dict(check.get("indexes") or {}),
                   defined=dict(check.get("defined") or {}),
                   keys_unsure=check.get("keys_unsure"), shaped=dict(check.get("shaped") or {}),
                   deleted=dict(check.get("deleted") or {}),
                   updated=dict(check.get("updated") or {}),
                   retyped=tuple((str(why), str(sql), str(column))
                                 for why, sql, column in check.get("retyped") or ()),
                   dropped_indexes={name: str(given[0]) for name, given in (
                       check.get("dropped_indexes") or {}).items()},
                   keys_written=tuple(check.get("keys_written") or ()))


@dataclass(slots=True)
class RowChecks:
    """The statements validating rows seen so far, and what the plan changed before each."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    # why every later check cannot be told (a DO block, a function called), first one kept
    _anything: str | None = None
    # table -> why its rows are not today's
    _tables: dict[str, str] = field(default_factory=dict)
    # (table, column) -> why that column's values are not today's
    _columns: dict[tuple[str, str], str] = field(default_factory=dict)
    # tables the plan creates (CREATE TABLE, empty until written)
    _created: set[str] = field(default_factory=set)
    # tables a `CREATE TABLE IF NOT EXISTS` of the plan makes only where the database has
    # none of that name (PostgreSQL skips it with a NOTICE where one is there, and the rows
    # stay): table (as spelled) -> (that CREATE, the search_path its SET gave then). Taken
    # as the database's; each check of one hands it on (`unless_there`), for the guard to
    # ask the database whether it is there (task 485: `CREATE TABLE IF NOT EXISTS ine` then
    # a SET NOT NULL over ine's NULLs asked nothing)
    _unless_there: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # tables the plan drops (as spelled) -> the search_path its SET gave then: one made again
    # under that name (and path) is new (`_forget`)
    _dropped: dict[str, str | None] = field(default_factory=dict)
    # (table, column) -> (why its values are not today's, the ADD COLUMN statement adding it)
    _added: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # (table, column) -> (why its values may not be today's, the ALTER COLUMN ... TYPE), each
    _retyped: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    # types the plan creates that hold no constraint (an enum, a composite, a range; not a
    # domain): a column added of one is filled as one of a built-in type
    _plain_types: set[str] = field(default_factory=set)
    # functions the plan (re)defines (their last name): what they return now is not what the
    # plan's statements calling them will get (`CREATE OR REPLACE FUNCTION f` then an index
    # over f(c))
    _functions: set[str] = field(default_factory=set)
    # the functions the plan's data statements call, by name as called -> where (`0005 calls
    # sum() in a SELECT`): the guard follows them on the database (`guard.called_writes`);
    # one that may write a table makes every later check cannot tell, PostgreSQL's own write
    # none
    _calls: dict[str, str] = field(default_factory=dict)
    # what each function the plan (re)defines writes, as its CREATE FUNCTION says, by name
    # as created: a call may reach it, or a function of the database calling it
    # (`row_changes.created_function`; `RowChanges.created`)
    created_functions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # why the functions a name reaches may not be the database's when a later statement
    # calls it (an extension created, a function renamed or moved): its calls cannot be
    # followed on the database, and are as `_anything`
    _calls_moved: str | None = None
    # (table, column) -> (why, the UPDATE): every row of the table set to a constant not NULL
    _filled: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # table -> why its rows are not today's: such an UPDATE (only its columns changed)
    _filled_tables: dict[str, str] = field(default_factory=dict)
    # why an UPDATE's rows may not hold what it writes: the plan made or enabled a trigger,
    # a rule or row security before it (the guard asks the database for today's)
    _rewrites_updates: str | None = None
    # index (last name) -> the CREATE INDEX of the plan making it (`ADD PRIMARY KEY USING
    # INDEX` of one: the guard reads its columns there)
    _indexes: dict[str, str] = field(default_factory=dict)
    # (table, constraint) -> the plan's ADD CONSTRAINT ... NOT VALID of it ("": added
    # validated; None: dropped): a later VALIDATE CONSTRAINT validates that one
    _constraints: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # `_PROBED_SETTINGS` the plan's SET (or set_config) gave its session (None: RESET), and
    # a SET LOCAL's until its transaction ends: the guard asks each check under them
    _settings: dict[str, str | None] = field(default_factory=dict)
    _local_settings: dict[str, str | None] = field(default_factory=dict)
    # table -> (the events the plan's data statements fire on it, why): the guard follows
    # the referential actions and triggers they fire into the other tables they change
    # (`guard.reached_rows`)
    _writes: dict[str, tuple[set[str], str]] = field(default_factory=dict)
    # the triggers the plan creates: [table, events (pg_trigger.tgtype's bits), function, why,
    # its name]
    _triggers: list[list[Any]] = field(default_factory=list)
    # the foreign keys with a referential action the plan adds: [referencing table,
    # referenced table, ON DELETE, ON UPDATE (pg_constraint's letters), why]
    _actions: list[list[Any]] = field(default_factory=list)
    # table -> why: the plan enables (some of) its triggers, which the database's may say
    # are disabled
    _enabled_triggers: dict[str, str] = field(default_factory=dict)
    # table -> the triggers the plan disables (by name; `USER`, `ALL`: every one of the
    # table's, `ALL` its foreign keys' too), until it enables any again
    _disabled_triggers: dict[str, list[str]] = field(default_factory=dict)
    # the rules the plan creates: [table, events (pg_trigger.tgtype's bits), CREATE RULE, why]
    _rules: list[list[Any]] = field(default_factory=list)
    # the defaults (and generated columns) the plan gives a table that call functions, which
    # a later INSERT evaluates, by (table, column) while in force (a later SET or DROP
    # DEFAULT of the column, not ONLY, ends it): [table, [function, ...], why]
    _defaults: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    # the domains whose default the plan gives (CREATE DOMAIN ... DEFAULT, ALTER DOMAIN ...
    # SET DEFAULT, DROP DEFAULT: none; a domain made over one takes its default), by name as
    # given -> (the functions the default calls, the database's type it is made over whose
    # default it takes, by name (None: its own), why)
    _domains: dict[str, tuple[list[str], str | None, str]] = field(default_factory=dict)
    # the columns the plan gives a type of the database's, without a DEFAULT of their own,
    # whose domain's default a later INSERT evaluates (the guard looks it up): [table,
    # column, type, why ADD COLUMN fills it into the rows there ("": it fills none)]
    _typed: list[list[Any]] = field(default_factory=list)
    # (table, column) -> the type the plan gives the column (CREATE TABLE, ADD COLUMN, ALTER
    # COLUMN ... TYPE), None for one holding no default (built-in, an array, the plan's enum)
    _column_types: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # the columns of the database whose DEFAULT the plan drops (their type's, a domain's,
    # then applies; the guard looks it up), until it sets one again (not ONLY): [table,
    # column, why]
    _undefaulted: list[list[Any]] = field(default_factory=list)
    # the domains of the database the plan sets a default of, which a later INSERT into a
    # table with a column of one evaluates, by name while in force: [domain, [function, ...],
    # why]
    _domain_defaults: dict[str, list[Any]] = field(default_factory=dict)
    # what the plan's data statements evaluate, each as it runs (the defaults above in force
    # then: an INSERT before `ALTER DOMAIN d SET DEFAULT` evaluates the default before it),
    # by what `_with_calls` hands them on as ("defaults", "domains", "typed", "undefaulted")
    _evaluated: dict[str, list[list[Any]]] = field(default_factory=dict)
    # the triggers disabled (`_disabled_triggers`) at every data statement so far (None:
    # none ran): one disabled after a write fired for it
    _disabled_at_writes: dict[str, list[str]] | None = None
    # how many of `_triggers`, `_actions` and `_rules` the plan made before its last data
    # statement (one made after fired for none)
    _made_at_write: tuple[int, int, int] = (0, 0, 0)
    # the `session_replication_role`s the plan's data statements ran under (None: the
    # session's): the guard reads them, not the one in force at the check
    _write_roles: set[str | None] = field(default_factory=set)
    # the tables the plan creates PARTITION OF or INHERITS a parent: table -> [[parent, ...],
    # whether it is a partition] (the guard reads the database's parent for one not there)
    _created_under: dict[str, list[Any]] = field(default_factory=dict)
    # what each statement runs over rows (`row_changes.Runs`: the plan's PREPAREs, its
    # materialized views' queries)
    _runs: Runs = field(default_factory=Runs)
    # materialized views of the database a statement refreshes -> where: the guard follows
    # the functions their query calls as `_calls`
    _refreshed: dict[str, str] = field(default_factory=dict)
    # tables (as named) whose columns, constraints, indexes, triggers or rules a statement
    # of the plan changed -> why: an INSERT into one meets what the database does not hold
    # (`_note_shape`); `_shaped_all`: any table's (a type altered, a DROP ... CASCADE)
    _shaped: dict[str, str] = field(default_factory=dict)
    _shaped_all: str | None = None
    # indexes the plan creates (`schema.name` where its table is written with a schema) ->
    # their table: a DROP INDEX of one reshapes that table alone
    _index_tables: dict[str, str] = field(default_factory=dict)
    # indexes of the database a DROP INDEX of the plan drops (as written) -> [why, IF EXISTS,
    # the search_path its SET gave then]: an INSERT's or UPDATE's check hands them on
    # (`dropped_indexes`), for the guard to find their table (pg_index) and leave a unique
    # one's keys unasked; no other question changes (task 583)
    _dropped_indexes: dict[str, list[Any]] = field(default_factory=dict)
    # table (as named) -> the plan's writes of its rows so far, while each is one whose keys
    # the guard can tell (an INSERT whose own rows are told and read no table, an UPDATE,
    # whose columns set the guard holds against the unique keys), [statement, the settings
    # it ran under] each; None after any other (`_rows_changed`): a later INSERT's keys are
    # held against today's rows and these (`keys_written`), not "cannot tell" (task 583)
    _key_writes: dict[str, list[list[Any]] | None] = field(default_factory=dict)
    # the INSERT `_add_insert` found its rows told of, reading no table (a seed's VALUES)
    _told_insert: Statement | None = None
    # tables the plan created with no constraint, of built-in types, unchanged since: an
    # INSERT into one refuses no row
    _plain_created: set[str] = field(default_factory=set)
    # tables a foreign key the plan adds references -> why: a later DELETE from one meets a
    # key the database does not hold (`deleted_rows`)
    _referenced: dict[str, str] = field(default_factory=dict)
    # the labels the plan adds to an enum (`ALTER TYPE t ADD VALUE 'x'`): [type, label, why].
    # No row changes, nor any constraint: a statement meets something new only where it
    # names one, which the database's type lacks now (the guard: `labels`), or reads the
    # type's labels in order (`enum_range()`: `_labels_read`; task 572)
    _labels: list[list[str]] = field(default_factory=list)
    # tables (as named) the plan wrote only by DELETEs whose rows today's rows tell
    # (`_stable_delete`) -> [each DELETE, the settings it ran under]; None: written
    # otherwise. A later DELETE of a table they reference hands them on (`deleted`): the
    # rows they leave are today's its WHERE does not keep (task 572)
    _deleted: dict[str, list[tuple[str, dict[str, str | None]]] | None] = field(
        default_factory=dict)
    # tables (as named) the plan wrote only by one UPDATE whose rows today's rows tell
    # (`_stable_update`) -> (that UPDATE, the settings it ran under); None: written
    # otherwise. A later check of the table hands it on (`updated`): its rows are today's,
    # each its WHERE keeps with its SET evaluated over it (task 596)
    _updated: dict[str, tuple[str, dict[str, str | None]] | None] = field(default_factory=dict)
    # tables a plain `CREATE TABLE` of the plan made after a statement whose effects cannot
    # be told (`_anything`: a DO block), nothing having run since that may write them: new
    # and empty all the same, which no DO block before could write (task 596)
    _made_after: set[str] = field(default_factory=set)

    def add(self, revision: str, statements: Sequence[Statement]) -> None:
        """Add one revision's statements (as it ran on the throwaway copy), in order."""
        self._local_settings.clear()  # (the last revision's transaction ended)
        for s in statements:
            if s.transaction in ("commit", "rollback", "prepare"):
                self._local_settings.clear()
            if s.generated and s.kind == "VariableSetStmt":
                # (the settings env.py gave its connection, as the capture read them: `SET
                # search_path TO phx` names the schema the unqualified tables are in)
                self._note_settings(s)
            if s.generated or s.deferred:
                continue
            columns = validated_columns(s, self._plain_types)
            # (CREATE TABLE ... PARTITION OF: its parent's DEFAULT partition is checked;
            # ALTER DOMAIN: the columns of the domain, in any table, the guard finds)
            relation = _partition_of(s) or s.relation or _altered_domain(s)
            attached = [a.partition for a in s.actions
                        if a.subtype == "AttachPartition" and a.partition]
            made = _made_unless_there(s)
            if made and any(same_relation(name, made) for name in [
                    *self._created, *self._indexes, *self._unless_there]):
                columns = None  # (made by the plan already: PostgreSQL skips it)
            new = bool(columns is not None and relation and self._new(relation)
                       and all(self._new(name) for name in attached))
            # (where the statement is: a `dbsafe: ignore[DBS615]` there reaches the
            # guard's finding, made once lint applied the suppressions)
            at = [s.location.path, s.location.line, s.location.column]
            if new and (self._calls or self._writes or self._refreshed):
                # empty, unless a function called before writes it: the guard tells
                self.checks.append(self._with_calls(
                    {"revision": revision, "sql": s.sql, "table": relation, "unsure": None,
                     "new": True, "at": at}))
            elif columns is not None and relation and not new:
                added = {**self._added_checked(s, columns), **self._added_set_not_null(s)}
                filled = self._filled_set_not_null(s, columns)
                # (a column this statement adds holds its DEFAULT or NULL in every row,
                # whatever an earlier column of its name held: only the rows count)
                adding = frozenset(a.column.name for a in s.actions if a.subtype == "AddColumn"
                                   and a.column is not None and a.column.name)
                # (only one UPDATE, or DELETEs, wrote the table before it, whose rows
                # today's rows tell: the guard asks the rows they leave)
                told = self._told_writes(relation) if s.kind in (
                    "AlterTableStmt", "IndexStmt") and relation == s.relation \
                    and not attached and not filled else {}
                check: dict[str, Any] = {"revision": revision, "sql": s.sql, "table": relation,
                         "at": at,
                         "unsure": self._unsure(relation, columns, answered=frozenset(added),
                                                filled=bool(filled), adding=adding,
                                                told=bool(told))
                         or self._references_unsure(s)
                         or next((why for name, why in self._tables.items()
                                  if made and same_relation(name, made)), None)
                         or next(filter(None, (self._unsure(name, frozenset())
                                               for name in attached)), None)
                         or self._labels_read(s)}
                empty = [name for name in attached if self._new(name)] \
                    + ([s.relation] if relation != s.relation and s.relation else [])
                if empty:  # (the plan creates the partition: it has no rows to ask)
                    check["empty"] = empty
                unless = self._made_unless_there(relation, attached)
                if unless:  # (the guard asks the database whether each is there)
                    check["unless_there"] = unless
                if added:
                    check["added"] = added
                check.update(told)
                if filled:
                    check["filled"] = filled
                indexes = {a.constraint.using_index: self._indexes[a.constraint.using_index]
                           for a in s.actions if a.constraint is not None
                           and a.constraint.using_index in self._indexes}
                if indexes:  # (made by the plan: not yet there to look up)
                    check["indexes"] = indexes
                retyped = self._retypes(relation, columns) + [
                    [f"{why} (the table it references)", sql, column]
                    for table, referenced in _references(s)
                    for why, sql, column in self._retypes(table, referenced)]
                if retyped:  # the guard tells whether each keeps every value
                    check["retyped"] = retyped
                types = sorted(self._plain_types & _added_types(s))
                if types:  # (they do not exist yet: the guard cannot look them up)
                    check["plain_types"] = types
                if self._functions:  # the guard asks nothing calling one (its queries')
                    check["functions"] = sorted(self._functions)
                defined = {a.name: added for a in s.actions
                           if a.subtype == "ValidateConstraint" and a.name and s.relation
                           for (table, name), added in self._constraints.items()
                           if name == a.name and same_relation(table, s.relation)}
                if defined:  # (the guard validates the plan's, not the database's)
                    check["defined"] = defined
                settings = {**self._settings, **self._local_settings}
                if settings:  # (the guard asks under them: None, the session's own)
                    check["settings"] = settings
                changed = dict(self._tables)
                if s.kind == "AlterDomainStmt":  # (and the tables whose columns changed)
                    for (name, _), why in [*self._columns.items(), *(
                            (key, why) for key, (why, _) in self._added.items()), *(
                            (key, changes[0][0]) for key, changes in self._retyped.items()),
                            *(((name, ""), why) for name, why in self._filled_tables.items())]:
                        changed.setdefault(name, why)
                if not columns and changed:
                    # VALIDATE CONSTRAINT: a foreign key's referenced table is the
                    # database's to say, ALTER DOMAIN's tables too; the guard holds them
                    # against these
                    check["changed"] = changed
                self.checks.append(self._with_calls(check))
            if s.kind in ("InsertStmt", "UpdateStmt", "DeleteStmt") and s.relation \
                    and _application(s.relation):
                self._add_insert(revision, s, at)
            self._note_shape(revision, s)
            self._note(revision, s)

    def _add_insert(self, revision: str, s: Statement, at: list[Any]) -> None:
        """An `INSERT` (`... SELECT`, `VALUES`): its rows may refuse the table's NOT NULL,
        CHECK, unique or foreign keys, as its SELECT reads them (the copy had none: Renku's
        584598f3b769 inserts NULLs from `sessions.launchers` into a NOT NULL column, task
        551). Handed on (`inserts`) for the guard to ask the rows it would insert; cannot
        tell where the plan changed the table's columns or constraints before it
        (`reshaped`: the database's are not the ones it meets), or the rows it reads or
        meets (`unsure`). A table the plan made with no constraint refuses no row: none.
        An `UPDATE ... SET` likewise (`updates`, `guard.updated_rows`, task 555): the rows
        it updates are its table's, so the table written before makes it cannot tell.
        A `DELETE` too (`deletes`, `guard.deleted_rows`, task 559): the rows it deletes
        that other tables' foreign keys reference, handed on with the tables whose columns
        or constraints the plan changed before it (`shaped`: a referencing table's foreign
        key dropped or made first is not the database's)."""
        deletes = s.kind == "DeleteStmt"
        updates = s.kind == "UpdateStmt"
        own_rows = updates or deletes  # (the rows it meets are its table's)
        target = str(s.relation)
        if any(same_relation(name, target) for name in self._plain_created) and not deletes:
            return
        if own_rows and self._new(target) and not (self._calls or self._writes
                                                   or self._refreshed):
            return  # (a table the plan made, empty: it updates no row)
        shaped = self._shaped_all or next((why for name, why in self._shaped.items()
                                           if same_relation(name, target)), None)
        # (a DELETE meets no index: a foreign key's, PostgreSQL does not drop without CASCADE)
        dropped, elsewhere = ({}, None) if deletes or shaped else self._dropped_index_facts()
        shaped = shaped or elsewhere
        # (a DELETE: the keys referencing it the database holds are asked first, unless the
        # plan adds one: none refuses a row it deletes where none references it)
        keyed = next((f"{why}: the foreign keys referencing {target} are not today's"
                      for name, why in self._referenced.items()
                      if same_relation(name, target)), None) if deletes else None
        named = [name for name in relations(s.node) if _application(name)]
        # (the tables its SELECT reads: the target too where it names it twice)
        read = [name for name in named if not same_relation(name, target)] \
            + ([target] if own_rows or sum(same_relation(name, target) for name in named) > 1
               else [])
        rows = next(filter(None, (self._unsure(name, frozenset()) for name in read)), None)
        if shaped:
            shaped = f"{shaped}: the foreign keys referencing {target} are not today's" \
                if deletes else \
                f"{shaped}: the columns and constraints of {target} it meets are not today's"
        settings = {**self._settings, **self._local_settings}
        role = settings.get("session_replication_role") if deletes else None
        if role is not None and role.strip("'\"").lower() != "origin" and not shaped \
                and not rows:
            # (replica: the foreign keys' triggers do not fire; the guard does not set it)
            rows = f"the plan sets session_replication_role to {role} before it: which " \
                   "foreign keys it fires is not told"
        check: dict[str, Any] = {"revision": revision, "sql": s.sql, "table": target, "at": at,
                                 "unsure": keyed or shaped or rows or self._labels_read(s),
                                 "deletes" if deletes else "updates" if updates
                                 else "inserts": True}
        if keyed or (shaped and not deletes):
            check["reshaped"] = True
        if keyed or shaped:  # (the reason says what is not today's: the guard adds nothing)
            check["said"] = True
        if dropped:  # (the guard finds their table; a unique one's keys refuse no row)
            check["dropped_indexes"] = dropped
        if deletes and self._shaped and not shaped:  # (a referencing table's foreign keys)
            check["shaped"] = dict(self._shaped)
        keys = None if shaped or rows else self._unsure(target, frozenset())
        if keys:  # (a seed INSERT after another: its NOT NULL and CHECKs asked, not its keys)
            check["keys_unsure"] = keys
            written = self._keys_written(target)
            if written:  # (the keys they write, held against its own by the guard)
                check["keys_written"] = written
        if not own_rows and not check["unsure"] and sum(
                1 for name in named if same_relation(name, target)) == 1 \
                and len(named) == 1 and not s.node.get("onConflictClause") \
                and not s.node.get("withClause"):
            self._told_insert = s  # (its rows: its VALUES, whatever runs before it)
        changed = {**self._filled_tables, **self._tables}
        if changed:  # (a foreign key's referenced table: the database's to say)
            check["changed"] = changed
        deleted = self._deleted_only(changed) if deletes else {}
        if deleted:  # (a referencing table only those DELETEs wrote: the rows they leave)
            check["deleted"] = deleted
        if settings:
            check["settings"] = settings
        if self._functions:
            check["functions"] = sorted(self._functions)
        self.checks.append(self._with_calls(check))

    def _stable_delete(self, s: Statement, written: Sequence[tuple[str, Any]] | None
                       ) -> bool:
        """Whether the rows `DELETE` `s` deletes are the rows of today's its WHERE keeps
        (and USING joins): it writes its table alone (no data-modifying CTE), nothing before
        it changed the table otherwise (columns, constraints, triggers, rules: the plan's
        trigger or rule made or enabled before it, any) nor the tables its USING and
        subqueries read, and it reads its own table only where nothing wrote it before.
        The guard asks the rest on the database: no volatile call, no BEFORE DELETE trigger
        or rule (`deleted_rows`)."""
        table = s.relation
        if s.kind != "DeleteStmt" or not table or written is None \
                or [name for name, _ in written] != [table] \
                or "CurrentOfExpr" in (s.node.get("whereClause") or {}) \
                or self._anything or self._shaped_all or self._rewrites_updates \
                or self._calls_moved:
            return False
        if any(same_relation(name, table) for name in self._shaped) or any(
                entry is None for name, entry in self._deleted.items()
                if same_relation(name, table)):
            return False
        named = [name for name in relations(s.node) if _application(name)]
        others = [name for name in named if not same_relation(name, table)]
        if len(named) - len(others) > 1 and self._unsure(table, frozenset()):
            return False  # (a subquery reads the rows an earlier DELETE left)
        return not any(self._unsure(name, frozenset()) for name in others)

    def _stable_update(self, s: Statement, written: Sequence[tuple[str, Any]] | None
                       ) -> bool:
        """Whether the rows `UPDATE` `s` leaves are today's, its SET evaluated over each
        row its WHERE keeps (task 596: `UPDATE t SET c = CASE ... END WHERE ...`, then `SET
        NOT NULL`): it writes its table alone, with no FROM (a row joined twice takes either
        value), WITH or WHERE CURRENT OF; it is the first statement of the plan writing the
        table, nothing before it changed the table otherwise (columns, constraints, triggers,
        rules: the plan's trigger, rule or policy made or enabled before it, any) nor wrote
        a table its subqueries read. The guard asks the rest on the database: no volatile
        call, no BEFORE UPDATE trigger, UPDATE rule or row security, no child
        (`updated_rows.rows_after`)."""
        table = s.relation
        node = s.node
        if s.kind != "UpdateStmt" or not table or written is None \
                or [name for name, _ in written] != [table] \
                or node.get("fromClause") or node.get("withClause") \
                or "CurrentOfExpr" in (node.get("whereClause") or {}) \
                or self._anything or self._shaped_all or self._rewrites_updates \
                or self._calls_moved:
            return False
        if any(same_relation(name, table) for name in [
                *self._shaped, *self._tables, *self._filled_tables, *self._deleted,
                *self._updated]):
            return False  # (not the first write, or its columns or constraints changed)
        others = [name for name in relations(s.node)
                  if _application(name) and not same_relation(name, table)]
        return not any(self._unsure(name, frozenset()) for name in others)

    def _note_updated(self, name: str, s: Statement, stable: bool) -> None:
        """`name` written by `s`: the one UPDATE of `_updated`'s, where `stable` (the first
        write of it: `_stable_update`) and `s` updates it; else written otherwise."""
        self._updated[name] = (s.sql.strip().rstrip(";"),
                               {**self._settings, **self._local_settings}) \
            if stable and same_relation(name, s.relation) else None

    def _told_writes(self, table: str) -> dict[str, Any]:
        """What wrote `table` before a check of it, where the guard tells the rows it leaves
        under the settings in force now (the same as they ran under): `{"updated": {table:
        the UPDATE}}`, the one UPDATE writing it (`_stable_update`); `{"deleted": {table:
        [DELETE, ...]}}`, DELETEs alone (`_stable_delete`); else {} (none wrote it, or
        another statement did)."""
        settings = {**self._settings, **self._local_settings}
        updates = [entry for name, entry in self._updated.items() if same_relation(name, table)]
        if updates and all(entry is not None and entry[1] == settings for entry in updates) \
                and len({entry[0] for entry in updates if entry is not None}) == 1:
            return {"updated": {table: next(e[0] for e in updates if e is not None)}}
        deletes = [entry for name, entry in self._deleted.items() if same_relation(name, table)]
        if deletes and all(entry is not None and all(ran == settings for _, ran in entry)
                           for entry in deletes):
            return {"deleted": {table: [sql for entry in deletes for sql, _ in entry or ()]}}
        return {}

    def _labels_read(self, s: Statement) -> str | None:
        """Why `s` meets the labels an earlier `ADD VALUE` of the plan adds where it names
        none: it reads the type's labels in order (`enum_range()`, `enum_first()`,
        `enum_last()`: the new one among them), or None."""
        if not self._labels:
            return None
        called = next((name for name in called_functions(s.node)
                       if last(name) in _ENUM_ORDER), None)
        return None if called is None else (
            f"{self._labels[0][2]}, and it calls {called}(), which reads the labels of an "
            "enum in order")

    def _note_deleted(self, name: str, s: Statement, stable: bool) -> None:
        """`name` written by `s`: one more DELETE of `_deleted`'s, where `stable` and `s`
        deletes from it; else written otherwise."""
        entry = self._deleted.get(name, [])
        if stable and entry is not None and same_relation(name, s.relation):
            ran = (s.sql.strip().rstrip(";"), {**self._settings, **self._local_settings})
            if ran not in entry:  # (a subquery naming it again, the same DELETE again)
                entry.append(ran)
            self._deleted[name] = entry
        else:
            self._deleted[name] = None

    def _deleted_only(self, changed: Mapping[str, str]) -> dict[str, list[str]]:
        """The tables of `changed` the plan wrote only by DELETEs `_stable_delete` tells,
        under the settings in force now (a search_path, a TimeZone the WHERE reads), their
        columns and constraints unchanged: table -> those DELETEs."""
        settings = {**self._settings, **self._local_settings}
        found: dict[str, list[str]] = {}
        for table in changed:
            entries = [entry for name, entry in self._deleted.items()
                       if same_relation(name, table)]
            if entries and all(entry is not None and all(
                    ran == settings for _, ran in entry) for entry in entries) \
                    and not any(same_relation(name, table) for name in self._shaped):
                found[table] = [sql for entry in entries for sql, _ in entry or ()]
        return found

    def _rows_changed(self, name: str, why: str, s: Statement | None = None) -> None:
        """`name`'s rows are not today's (`_tables`); `s`: the INSERT or UPDATE changing
        them whose keys the guard can tell (`_key_writes`), None for any other statement."""
        self._tables.setdefault(name, why)
        self._note_key_write(name, s)

    def _note_key_write(self, name: str, s: Statement | None) -> None:
        writes = self._key_writes.setdefault(name, [])
        if writes is None:
            return
        if s is None:
            self._key_writes[name] = None
        else:
            writes.append([s.sql.strip().rstrip(";"),
                           {**self._settings, **self._local_settings}])

    def _keys_written(self, target: str) -> list[str]:
        """The plan's writes of `target`'s rows so far (`_key_writes`), where they are all
        that changed them and ran under the settings in force now (a timestamptz literal
        read under another TimeZone is another key); [] otherwise."""
        if self._anything or any(same_relation(name, target) for name, _ in
                                 [*self._columns, *self._added]):
            return []
        settings = {**self._settings, **self._local_settings}
        written: list[str] = []
        for name in {*self._tables, *self._filled_tables}:
            if not same_relation(name, target):
                continue
            writes = self._key_writes.get(name)
            if not writes or any(given != settings for _, given in writes):
                return []
            written += [sql for sql, _ in writes if sql not in written]
        return written

    def _note_shape(self, revision: str, s: Statement) -> None:
        """The tables whose columns, constraints, indexes, triggers or rules `s` may change
        (`_shaped`), or of any table (`_shaped_all`: a type or domain altered, a DROP ...
        CASCADE): a later INSERT into one meets what the database does not hold now. A
        `CREATE TABLE` with no constraint and built-in types only (`_plain_created`) refuses
        no row an INSERT gives it, until a statement changes it."""
        if s.kind in _NOT_RESHAPING or s.error is not None:
            return
        if s.kind == "AlterEnumStmt" and s.node.get("newVal") and not s.node.get("oldVal"):
            # (ADD VALUE: the rows and every constraint stay; RENAME VALUE changes what a
            # row's value reads as)
            name = ".".join(strings(s.node.get("typeName")))
            label = str(s.node["newVal"])
            self._labels.append([name, label, f"{revision} adds the label '{label}' to "
                                              f"{name} before it"])
            return
        drop = s.node.get("removeType") if s.kind == "DropStmt" else None
        if drop == "OBJECT_INDEX" and s.node.get("behavior") != "DROP_CASCADE":
            self._note_dropped_indexes(revision, s)
            return
        if s.kind in _RESHAPING_ANY or (s.kind == "RenameStmt" and (
                s.rename is None or not s.rename.relation)) or (
                s.kind == "DropStmt" and (s.node.get("behavior") == "DROP_CASCADE"
                                          or drop not in _DROPS_ITSELF)):
            self._shaped_all = self._shaped_all or f"{revision} runs {_word(s)} before it"
            return
        names = {*relations(s.node), *([s.relation] if s.relation else []),
                 *(s.dropped if s.kind == "DropStmt" else ())}
        # (IF NOT EXISTS: the database's table, where there is one, with its constraints)
        plain = _plain_table(s, self._plain_types) and not s.node.get("if_not_exists")
        for name in names:
            self._plain_created = {made for made in self._plain_created
                                   if not same_relation(made, name)}
            if plain and name == s.relation:
                self._plain_created.add(name)
                self._shaped.pop(name, None)
            elif s.relation and not same_relation(name, s.relation):
                # (a table the statement names besides its own: the one a foreign key it
                # adds references, whose triggers it adds; said as another's statement)
                self._shaped.setdefault(name, f"{revision} runs {_word(s)} on {s.relation}, "
                                              f"naming {name}, before it")
            else:
                self._shaped.setdefault(name, f"{revision} runs {_word(s)} on {name} before it")

    def _note_dropped_indexes(self, revision: str, s: Statement) -> None:
        """`DROP INDEX` (not CASCADE), which names no table: one the plan created reshapes
        that table (`_index_tables`); one of the database's is kept by name
        (`_dropped_indexes`), its table the database's to say. Nothing else depends on an
        index (PostgreSQL refuses to drop one a constraint or a foreign key needs, without
        CASCADE), so no other table's columns or constraints change: notifications-api's
        0551 dropping an index of `notifications` made every later INSERT and UPDATE of the
        plan, of any table, "cannot tell" (task 583)."""
        for name in s.dropped:
            made = next((table for index, table in reversed(self._index_tables.items())
                         if same_relation(index, name)), None)
            if made is not None:
                self._shaped.setdefault(made, f"{revision} runs DROP INDEX on {made} before it")
            else:
                self._dropped_indexes.setdefault(name, [
                    f"{revision} runs DROP INDEX {name} before it",
                    bool(s.node.get("missing_ok")), self._search_path()])

    def _dropped_index_facts(self) -> tuple[dict[str, list[Any]], str | None]:
        """The database's indexes the plan dropped so far (name -> [why, IF EXISTS]), for the
        guard to read under the search_path in force now; and why a check cannot tell,
        where one was dropped under another search_path (which index it was is not told
        here: of any table, as before)."""
        path = self._search_path()
        handed: dict[str, list[Any]] = {}
        for name, (why, missing_ok, then) in self._dropped_indexes.items():
            if "." not in name and then != path:
                return {}, why
            handed[name] = [why, missing_ok]
        return handed, None

    def _with_calls(self, check: dict[str, Any]) -> dict[str, Any]:
        """`check` with the functions called before it (and the materialized views refreshed),
        the tables written before it (with the triggers and referential actions the plan
        adds) and the functions the plan defines, for the guard to follow, where nothing else
        makes it cannot tell."""
        if check["unsure"] is not None:
            return check
        if self._labels:  # (a value failing to cast may be one the database lacks now)
            check["labels"] = [list(each) for each in self._labels]
        if self._calls:
            check["calls"] = [[name, where] for name, where in self._calls.items()]
        if self._refreshed:
            check["refreshed"] = [[view, where] for view, where in self._refreshed.items()]
        if self._writes:
            check["writes"] = [[name, sorted(events), why]
                               for name, (events, why) in self._writes.items()]
            triggers, actions, rules = self._made_at_write
            if triggers:
                check["triggers"] = [list(trigger) for trigger in self._triggers[:triggers]]
            if actions:
                check["actions"] = [list(action) for action in self._actions[:actions]]
            if self._enabled_triggers:
                check["enabled_triggers"] = dict(self._enabled_triggers)
            if self._disabled_at_writes:
                check["disabled_triggers"] = {table: list(names) for table, names
                                              in self._disabled_at_writes.items()}
            if rules:
                check["rules"] = [list(rule) for rule in self._rules[:rules]]
            if self._write_roles != {None}:  # (one it SET: the guard reads each)
                check["write_roles"] = sorted(self._write_roles, key=str)
            if self._created_under:
                check["created_under"] = {table: [list(parents), partition] for table, (
                    parents, partition) in self._created_under.items()}
        # (a column ADD COLUMN filled: evaluated as it ran, whatever follows)
        evaluated = {key: [list(entry) for entry in entries]
                     for key, entries in self._evaluated.items() if entries}
        filled = [entry for entry in self._typed_defaults()[0] if entry[3]]
        evaluated["typed"] = evaluated.get("typed", []) + [
            entry for entry in filled if entry not in evaluated.get("typed", [])]
        check.update({key: entries for key, entries in evaluated.items() if entries})
        if self.created_functions and (self._calls or self._writes or self._refreshed):
            check["created_functions"] = {name: list(entries) for name, entries
                                          in self.created_functions.items()}
        return check

    def _note_calls(self, revision: str, word: str, called: Iterable[str]) -> None:
        """The functions a statement (`word`: its command) calls, for the guard to follow
        (`_calls`); after a statement changing which function a name reaches, any call
        makes every later check cannot tell."""
        calls = sorted(name for name in set(called)
                       if name.removeprefix("pg_catalog.") not in _READS_ONLY)
        if calls:  # (a function a DO block made may write a table made since)
            self._made_after.clear()
        if calls and self._calls_moved:
            self._opaque(
                f"{revision} calls {calls[0]}() in {_an(word)} before it, after "
                f"{self._calls_moved}, which may change the function it reaches")
        for name in calls:
            self._calls.setdefault(name, f"{revision} calls {name}() in {_an(word)}")

    def _note_settings(self, s: Statement) -> None:
        """A SET, RESET or set_config of `_PROBED_SETTINGS`: for the session, or (`SET LOCAL`
        in a transaction) until the transaction ends; `RESET ALL`: each to the session's."""
        for name, value, local in setting_changes(s):
            if name == "*":
                self._settings = dict.fromkeys(self._settings)
                self._local_settings.clear()
            elif name in _PROBED_SETTINGS and not local:
                self._settings[name] = value
                self._local_settings.pop(name, None)
            elif name in _PROBED_SETTINGS and s.in_transaction:
                self._local_settings[name] = value if value is not None \
                    else self._settings.get(name)

    def _note_firing(self, revision: str, s: Statement) -> None:
        """What `s` writes (the events it fires on each table), or makes fire: a trigger it
        creates or enables, a foreign key it adds with a referential action."""
        if s.kind in DATA_KINDS:
            written = False
            for name, events in written_tables(s.kind, s.node):
                if _application(name):
                    written = True
                    fired, _ = self._writes.setdefault(
                        name, (set(events), f"{revision} runs {_word(s)} on {name} before it"))
                    if "ONLY" not in events:  # (its children written: by this one at least)
                        fired.discard("ONLY")
                    fired.update(set(events) - {"ONLY"})
            if written:
                self._evaluate()
        if s.kind == "RuleStmt" and s.relation and s.node.get("event") in _RULE_EVENTS:
            self._rules.append([s.relation, _RULE_EVENTS[s.node["event"]], s.sql,
                                f"{revision} creates rule {s.node.get('rulename')} on "
                                f"{s.relation}"])
        if s.relation:  # (what later INSERTs into the table evaluate)
            self._note_defaults(revision, s, s.relation)
        self._note_domains(revision, s)
        if s.kind == "CreateTrigStmt" and s.relation:
            # (FOR EACH ROW: pg_trigger.tgtype's bit 1, cloned to a partitioned table's
            # partitions)
            self._triggers.append([s.relation, int(s.node.get("events") or 0)
                                   | (1 if s.node.get("row") else 0),
                                   ".".join(strings(s.node.get("funcname"))),
                                   f"{revision} creates trigger {s.node.get('trigname')} on "
                                   f"{s.relation}", str(s.node.get("trigname"))])
        if s.kind in ("CreateStmt", "AlterTableStmt") and s.relation:
            for kind, con in walk(s.node):
                if kind != "Constraint" or con.get("contype") != "CONSTR_FOREIGN":
                    continue
                on_delete, on_update = con.get("fk_del_action"), con.get("fk_upd_action")
                referenced = range_var(con.get("pktable"))
                if referenced:  # (a later DELETE from it meets a key the database lacks)
                    self._referenced.setdefault(referenced, (
                        f"{revision} adds a foreign key of {s.relation} referencing "
                        f"{referenced} before it"))
                if referenced and {on_delete, on_update} & set(_ACTING):
                    self._actions.append([s.relation, referenced, on_delete, on_update,
                                          f"{revision} adds a foreign key of {s.relation}"])
        # (ENABLE [ALWAYS | REPLICA] TRIGGER or RULE: the database's may say disabled)
        if any(a.subtype.startswith("Enable") and ("Trig" in a.subtype or "Rule" in a.subtype)
               for a in s.actions) and s.relation:
            self._enabled_triggers.setdefault(
                s.relation, f"{revision} enables triggers or rules on {s.relation}")
            self._disabled_triggers.pop(s.relation, None)  # (as the database holds them)
        for action in s.actions:
            # (DISABLE TRIGGER name, USER: the table's own; ALL: the foreign keys' too)
            if action.subtype in ("DisableTrig", "DisableTrigUser", "DisableTrigAll") \
                    and s.relation:
                self._disabled_triggers.setdefault(s.relation, []).append(
                    action.name or action.subtype.removeprefix("DisableTrig").upper())

    def _note_domains(self, revision: str, s: Statement) -> None:
        """The default a domain `s` creates or alters gives (`_domains`, `_domain_defaults`),
        and the columns `s` gives a domain's type without a DEFAULT of their own: of a domain
        whose default the plan gives, what it calls (`_defaults`; `ADD COLUMN` fills it into
        each row there, a call as any other); of any other type not built-in, handed on for
        the guard to look up (`_typed`)."""
        if s.kind == "CreateDomainStmt":
            name = ".".join(strings(s.node.get("domainname")))
            default = next((fields.get("raw_expr") for kind, fields in walk(
                s.node.get("constraints")) if kind == "Constraint"
                and fields.get("contype") == "CONSTR_DEFAULT"), None)
            over = _type_name(s.node.get("typeName") or {})
            functions = sorted(set(called_functions(default)))
            self._domains[name] = (functions, None, _giving(revision, name, functions)) \
                if default is not None else self._domain(over) or ([], over, "")
        elif s.kind == "AlterDomainStmt" and s.node.get("subtype") == "T":  # (SET DEFAULT)
            name = ".".join(strings(s.node.get("typeName")))
            functions = sorted(set(called_functions(s.node.get("def"))))
            why = _giving(revision, name, functions)
            self._domains[name] = (functions, None, why)
            self._domain_defaults.pop(name, None)
            if functions:
                self._domain_defaults[name] = [name, functions, why]
        if s.kind not in ("CreateStmt", "AlterTableStmt") or not s.relation:
            return
        for action in s.actions:  # (DROP DEFAULT: its type's default applies, a domain's)
            if action.subtype == "ColumnDefault" and action.expression is None and action.name:
                self._note_dropped_default(revision, s.relation, action.name)
        columns = [(column, False) for column in s.columns if s.kind == "CreateStmt"] + [
            (a.column, a.subtype == "AddColumn") for a in s.actions
            if a.subtype in ("AddColumn", "AlterColumnType") and a.column is not None]
        for column, adding in columns:
            typed = column.type
            name = column.name or ""
            type_name = None if typed is None or typed.array or typed.schema == "pg_catalog" \
                or typed.name in _BUILT_IN | SERIAL_TYPES | self._plain_types \
                else f"{typed.schema}.{typed.name}" if typed.schema else typed.name
            self._column_types[(s.relation, name)] = type_name
            if type_name is None or column.default is not None:
                continue
            self._typed.append([s.relation, name, type_name, ""])
            if adding:  # (its default, a domain's, filled into each row there)
                functions, of, _ = self._domain(type_name) or ([], type_name, "")
                self._note_calls(revision, _word(s), functions)
                if of is not None:
                    self._typed.append([s.relation, name, of, f"{revision} adds column "
                                        f"{name} to {s.relation} before it"])

    def _note_defaults(self, revision: str, s: Statement, table: str) -> None:
        """The defaults `s` gives `table`'s columns (`_defaults`), and those it sets or
        drops, not ONLY: no longer in force (a DEFAULT of the column's own over a dropped
        one: `_undefaulted`)."""
        inherited = bool((s.node.get("relation") or {}).get("inh"))
        for action in s.actions if inherited else ():
            if action.subtype == "ColumnDefault" and action.name:
                self._defaults.pop((table, action.name), None)
                if action.expression is not None:
                    self._undefaulted = [entry for entry in self._undefaulted
                                         if (entry[0], entry[1]) != (table, action.name)]
        for column, functions in _defaults_set(s):
            self._defaults[(table, column)] = [
                table, functions, f"{revision} gives {table} a default calling "
                                  f"{functions[0]}()"]

    def _evaluate(self) -> None:
        """A data statement runs: what it may evaluate or fire (the defaults in force, the
        triggers, rules and keys made, those disabled, the `session_replication_role`) is
        kept for the checks after it."""
        typed, defaults = self._typed_defaults()
        for key, entries in (("defaults", [*self._defaults.values(), *defaults]),
                             ("domains", list(self._domain_defaults.values())),
                             ("typed", [entry for entry in typed if not entry[3]]),
                             ("undefaulted", self._undefaulted)):
            kept = self._evaluated.setdefault(key, [])
            kept += [list(entry) for entry in entries if list(entry) not in kept]
        disabled = self._disabled_triggers
        self._disabled_at_writes = {table: list(names) for table, names in disabled.items()} \
            if self._disabled_at_writes is None else {
                table: still for table, names in self._disabled_at_writes.items()
                if (still := [name for name in names if name in disabled.get(table, ())])}
        self._write_roles.add({**self._settings, **self._local_settings}.get(
            "session_replication_role"))
        self._made_at_write = (len(self._triggers), len(self._actions), len(self._rules))

    def _note_dropped_default(self, revision: str, table: str, column: str) -> None:
        """`ALTER COLUMN column DROP DEFAULT` of `table`: a later INSERT evaluates the
        default of the column's type where it is a domain with one. Of a column the plan gave
        its type, handed on as any column of that type without a DEFAULT (`_typed`); of the
        database's, for the guard to look up its type (`_undefaulted`)."""
        given = [type_name for (on, name), type_name in self._column_types.items()
                 if name == column and same_relation(on, table)]
        if not given:
            self._undefaulted.append([table, column, f"{revision} drops the default of "
                                      f"{table}.{column}"])
        elif given[-1] is not None:
            self._typed.append([table, column, given[-1], ""])

    def given_types(self) -> list[str]:
        """The types not built-in the plan gives columns, and those its domains are made
        over (a domain of the database's: its default, where a column has none, writes what it
        writes; `row_changes` hands them on for DBS614)."""
        return sorted({name for name in self._column_types.values() if name} | {
            over for _, over, _ in self._domains.values() if over})

    def _typed_defaults(self) -> tuple[list[list[Any]], list[list[Any]]]:
        """The columns the plan gave a type not built-in (`_typed`), by what their type's
        default is now: of the database's type, handed on for the guard to look up
        (`typed`); of a domain whose default the plan gives, the functions it calls (as
        `defaults`)."""
        typed: list[list[Any]] = []
        defaults: list[list[Any]] = []
        for table, column, type_name, fills in self._typed:
            functions, over, why = ([], type_name, "") if fills else \
                self._domain(type_name) or ([], type_name, "")
            if functions:
                defaults.append([table, functions, f"{why} (of its column {column})"])
            elif over is not None and over.rpartition(".")[2] not in _BUILT_IN | SERIAL_TYPES:
                typed.append([table, column, over, fills])
        return typed, defaults

    def _domain(self, name: str) -> tuple[list[str], str | None, str] | None:
        """What the plan's domain `name` (as a column's type names it) defaults to
        (`_domains`), None for a type the plan gives no default."""
        return next((given for domain, given in reversed(self._domains.items())
                     if same_relation(domain, name)), None)

    def _new(self, table: str) -> bool:
        """Created by the plan and written by none of its statements since: empty."""
        return any(same_relation(name, table) for name in self._created) \
            and self._unsure(table, frozenset(), added=False) is None

    def _made_unless_there(self, table: str, attached: Sequence[str]) -> dict[str, str]:
        """The tables of a check (`table`, the partitions it attaches) a `CREATE TABLE IF NOT
        EXISTS` of the plan makes where the database has none, under the search_path in force
        now (`_unless_there`): table -> that CREATE. `table` is among them only when every
        partition it attaches is new or among them too: then the check asks nothing when
        none of them is there (`guard.row_refusals`)."""
        def made(name: str) -> str | None:
            if any(same_relation(created, name) for created in self._created):
                return None
            return next((sql for spelled, (sql, path) in self._unless_there.items()
                         if same_relation(spelled, name) and path == self._search_path()),
                        None)

        unless = {name: sql for name in attached if (sql := made(name))}
        own = made(table)
        if own and all(self._new(name) or name in unless for name in attached):
            unless[table] = own
        return unless

    def _added_set_not_null(self, s: Statement) -> dict[str, str]:
        """The columns `s` sets NOT NULL that the plan added (column -> its ADD COLUMN): an
        earlier statement, or `s` itself (`ADD COLUMN z ..., ALTER COLUMN z SET NOT NULL`)."""
        setting = {a.name for a in s.actions if a.subtype == "SetNotNull" and a.name}
        here = {a.column.name: s.sql for a in s.actions
                if a.subtype == "AddColumn" and a.column is not None and a.column.name in setting}
        return {**{column: added[1] for (name, column), added in self._added.items()
                   if column in setting and s.relation and same_relation(name, s.relation)},
                **here}

    def _added_checked(self, s: Statement, columns: frozenset[str]) -> dict[str, str]:
        """The columns `s` validates that an earlier `ADD COLUMN` of the plan added to its
        table, nothing having retyped them since (column -> that ADD COLUMN): each row holds
        the column's DEFAULT (or generated value), or NULL, which the guard asks the rows with
        (fractal-server's bc0e8b3327a7 adds `is_owner DEFAULT true`, then a unique index on
        `project_id WHERE is_owner IS true`, which a project with two members refuses: it was
        "cannot tell", task 492)."""
        if not s.relation:
            return {}
        return {column: sql for (name, column), (_, sql) in self._added.items()
                if column in columns and same_relation(name, s.relation)
                and not self._retypes(name, frozenset({column}))}

    def _filled_set_not_null(self, s: Statement, columns: frozenset[str]) -> dict[str, str]:
        """When every column `s` validates is one it sets NOT NULL that an earlier `UPDATE`
        filled (`_filled`) and does not retype: column -> that UPDATE; else {}."""
        retyping = {a.name for a in s.actions if a.subtype == "AlterColumnType"}
        setting = {a.name for a in s.actions if a.subtype == "SetNotNull" and a.name} - retyping
        filled = {column: update for (name, column), (_, update) in self._filled.items()
                  if column in setting and s.relation and same_relation(name, s.relation)}
        return filled if columns and columns <= filled.keys() else {}

    def _references_unsure(self, s: Statement) -> str | None:
        """Why the rows a foreign key added references are not today's, or None."""
        for table, columns in _references(s):
            why = self._unsure(table, columns)
            if why:
                return f"{why} (the table it references)"
        return None

    def _retypes(self, table: str, columns: frozenset[str]) -> list[list[str]]:
        """The plan's earlier `ALTER COLUMN ... TYPE` of `table`'s `columns` (none: any), as
        [why, statement, column] each."""
        return [[why, sql, column] for (name, column), changes in self._retyped.items()
                if same_relation(name, table) and (column in columns or not columns)
                for why, sql in changes]

    def summary(self, *, unsure: str | None = None,
                unsure_of: Collection[str] | None = None) -> list[dict[str, Any]]:
        """As lint's report hands it to the guard (`summary["row_checks"]`); `unsure`: why
        no check can be told (the revisions were not captured as they ran, so their data
        statements may be missing), of the checks of `unsure_of`'s revisions (None: of
        every check)."""
        return [{**c, "unsure": c["unsure"] or (
                    unsure if unsure_of is None or c["revision"] in unsure_of else None)}
                for c in self.checks]

    def _unsure(self, table: str, columns: frozenset[str], *,
                answered: frozenset[str] = frozenset(), added: bool = True,
                filled: bool = False, adding: frozenset[str] = frozenset(),
                told: bool = False) -> str | None:
        """Why the rows of `table` (its `columns`; none: any) are not today's; `answered`:
        columns the plan added whose NULLs the guard tells from their ADD COLUMN; `added`:
        whether a column added counts (for an empty new table it does not); `filled`: the
        columns are all an UPDATE filled (`_filled_set_not_null`), told by the guard;
        `adding`: columns the statement itself adds, which no earlier change of a column of
        their name reaches (Open-Assistant's 160ac010efcc goes back by `DROP COLUMN lang`
        then `ADD COLUMN lang VARCHAR(200) NOT NULL`: its table's rows refuse it, 23502);
        `told`: only writes whose rows the guard tells wrote the table (`_told_writes`). A
        table made after `_anything` and written by nothing since (`_made_after`) is not
        reached by it."""
        if self._anything and not any(same_relation(name, table) for name in self._made_after):
            return self._anything
        for name, why in () if told else self._tables.items():
            if same_relation(name, table):
                return why
        for name, why in () if filled or told else self._filled_tables.items():
            if same_relation(name, table):
                return why
        for (name, column), why in self._columns.items():
            if same_relation(name, table) and (column in columns or not columns) \
                    and column not in adding:
                return why
        for (name, column), (why, _) in self._added.items() if added else ():
            if same_relation(name, table) and column not in answered | adding \
                    and (column in columns or not columns):
                return why
        return None

    def _search_path(self) -> str | None:
        """The search_path the plan's SET gave its session now (None: the session's own)."""
        return {**self._settings, **self._local_settings}.get("search_path")

    def _forget(self, table: str) -> None:
        """What the plan did to the rows and columns of `table` (as spelled): a table made
        again under its name is new."""
        self._dropped.pop(table, None)
        self._deleted.pop(table, None)
        self._updated.pop(table, None)
        for kept in (self._tables, self._filled_tables, self._key_writes):
            kept.pop(table, None)
        for key in [key for key in self._columns if key[0] == table]:
            del self._columns[key]
        for key in [key for key in self._added if key[0] == table]:
            del self._added[key]
        for key in [key for key in self._retyped if key[0] == table]:
            del self._retyped[key]
        for key in [key for key in self._filled if key[0] == table]:
            del self._filled[key]

    def _opaque(self, why: str) -> None:
        """A statement whose effects cannot be told (a DO block): every later check cannot
        tell (`_anything`, the first reason kept), of a table made before it too."""
        self._anything = self._anything or why
        self._made_after.clear()

    def _note(self, revision: str, s: Statement) -> None:
        if s.error is not None:
            self._opaque(f"{revision} runs a statement PostgreSQL's parser refused before it")
            return
        run = self._runs.of(s)
        if s.kind in ("VariableSetStmt", "SelectStmt"):
            self._note_settings(s)
        self._note_firing(revision, s)
        if s.kind in _REWRITING_UPDATES or any(
                a.subtype.startswith(("Enable", "Force")) for a in s.actions):
            self._rewrites_updates = self._rewrites_updates or (
                f"{revision} runs {_word(s)} before it")
        if s.kind in _PLAIN_TYPE_KINDS:
            self._plain_types.add(_made_type(s))
            return
        if s.kind == "CreateFunctionStmt":
            self._functions.update(strings(s.node.get("funcname"))[-1:])
            name, entry = created_function(revision, s)
            self.created_functions.setdefault(name, []).append(entry)
            return
        if _moves_functions(s):
            self._calls_moved = self._calls_moved or f"{revision} runs {_word(s)}"
        if s.kind == "DoStmt":
            self._opaque(f"{revision} runs a DO block before it")
            return
        filled = _filled_columns(s)
        if filled and s.relation and self._new(s.relation):
            return  # (a table the plan made, with no row to fill: it stays empty)
        if filled and s.relation and not self._rewrites_updates:
            why = f"{revision} runs UPDATE on {s.relation} before it"
            # (the first write of its table: a later CHECK is asked over its rows too)
            self._note_updated(s.relation, s, self._stable_update(
                s, written_tables(s.kind, s.node)))
            self._deleted[s.relation] = None
            self._made_after.clear()  # (a trigger a DO block made may write one)
            self._filled_tables.setdefault(s.relation, why)
            self._note_key_write(s.relation, s)
            for column in filled:
                self._filled.setdefault((s.relation, column), (why, s.sql.strip().rstrip(";")))
            return
        if run is not None:
            if run.unknown is not None:
                self._opaque(f"{revision} {run.unknown} before it")
                return
            names = [n for n in run.tables
                     if not n.startswith(_NOT_APPLICATION) and n != "alembic_version"
                     and not n.endswith(".alembic_version")]
            self._note_calls(revision, run.word, run.calls)
            if any(not any(same_relation(made, name) for made in self._made_after)
                   for name in names):  # (a trigger a DO block made may write one)
                self._made_after.clear()
            for view in run.views:
                self._refreshed.setdefault(view, f"{revision} runs {run.word} {view}")
            # (the tables the statement itself writes, with the events it fires there; a
            # CALL's, an EXECUTE's, ...: not told, so none is left out below)
            written = written_tables(s.kind, s.node) if s.kind in _NAMING_WRITES else None
            stable = self._stable_delete(s, written)  # (as the plan stood before it)
            updates = self._stable_update(s, written)
            for name in names:
                events = {event for table, fired in written or () if table == name
                          for event in fired}
                if written is not None and "INSERT" not in events and self._new(name):
                    # A table the plan made, empty: read, updated, deleted from or
                    # truncated, it stays empty (Open-Assistant's `DELETE FROM journal`
                    # after the revision creating it made nine checks "cannot tell" on an
                    # empty database, task 475).
                    continue
                if (stable or updates) and not same_relation(name, s.relation):
                    # (read by a DELETE writing its own table alone: unchanged, its
                    # triggers' and keys' writes `guard.reached_rows`' to follow; task 572)
                    continue
                self._note_deleted(name, s, stable)
                self._note_updated(name, s, updates)
                writing = next((table for table, _ in written or () if table != name), None)
                # (its keys the guard can tell: an UPDATE's of the columns it sets, an
                # INSERT's of its VALUES)
                keyed = s.relation is not None and same_relation(name, s.relation) and (
                    s.kind == "UpdateStmt" or self._told_insert is s)
                self._rows_changed(name, f"{revision} runs {run.word} on {name} "
                                   "before it" if writing is None or events else
                                   f"{revision} runs {run.word} on {writing}, reading "
                                   f"{name}, before it", s if keyed else None)
            if names and not run.select:
                self._filled.clear()  # (it may write a child of a filled table)
            return
        # (a function an ADD COLUMN's DEFAULT, a USING, a CHECK or an index calls for each
        # row may write another table, as one a data statement calls)
        self._note_calls(revision, _word(s), evaluated_over_rows(s))
        why = f"{revision} runs {_word(s)} on {s.relation} before it"
        if s.rename is not None and s.rename.relation:
            if s.rename.object == "column":
                self._columns.setdefault((s.rename.relation, s.rename.old), why)
                self._columns.setdefault((s.rename.relation, s.rename.new), why)
            else:
                self._rows_changed(s.rename.relation, why)
                self._rows_changed(s.rename.new, why)
                self._deleted.update(dict.fromkeys((s.rename.relation, s.rename.new)))
                self._updated.update(dict.fromkeys((s.rename.relation, s.rename.new)))
        if s.node.get("inhRelations") or any(
                a.subtype in ("AddInherit", "AttachPartition") for a in s.actions):
            self._filled.clear()  # a filled table may get a child whose rows it did not fill
        if s.kind == "IndexStmt" and s.index_def is not None and s.index_def.name:
            self._indexes[last(s.index_def.name)] = s.sql.strip().rstrip(";")
            if s.relation:  # (an index lies in its table's schema)
                schema = s.relation.rpartition(".")[0]
                self._index_tables[f"{schema}.{last(s.index_def.name)}" if schema
                                   else last(s.index_def.name)] = s.relation
        if s.kind == "CreateStmt":
            if s.node.get("if_not_exists") and s.relation and not any(
                    same_relation(name, s.relation)
                    for name in [*self._created, *self._dropped]):
                # Made only where the database has no table of its name (PostgreSQL skips
                # it, NOTICE): the database's until the guard says there is none.
                self._unless_there.setdefault(s.relation, (s.sql.strip().rstrip(";"),
                                                           self._search_path()))
            else:  # Empty until a data statement fills it: nothing there refuses a check.
                self._created.update(s.creates)
                if self._anything and not s.node.get("if_not_exists"):
                    # (made after a DO block: PostgreSQL refuses the CREATE where one made
                    # the table, so none wrote its rows; IF NOT EXISTS: it may have, task 596)
                    self._made_after.update(s.creates)
            if s.relation in self._dropped and not s.node.get("if_not_exists") \
                    and self._dropped[s.relation] == self._search_path():
                # Made again under the name the plan dropped it by (the same search_path):
                # a new table, whatever the plan did to the one dropped (Open-Assistant's
                # 7c98102efbca drops `user_stats` and creates it again, task 475).
                self._forget(s.relation)
            parents = [parent for each in s.node.get("inhRelations") or ()
                       if (parent := range_var(each.get("RangeVar", each)))]
            for made in s.creates if parents else ():  # (its columns, defaults: theirs)
                self._created_under[made] = [parents, bool(s.node.get("partbound"))]
        elif s.kind != "IndexStmt":  # an index created changes no row
            if s.kind == "DropStmt" and s.object_kind == "table":
                self._dropped.update(dict.fromkeys(s.dropped, self._search_path()))
            for name in s.creates | frozenset(s.dropped):
                self._rows_changed(name, f"{revision} runs {_word(s)} on {name} before it")
                self._deleted[name] = None
                self._updated[name] = None
        if s.kind == "AlterTableStmt" and s.relation:
            for action in s.actions:
                if action.subtype == "AlterColumnType" and action.name:
                    self._retyped.setdefault((s.relation, action.name), []).append((why, s.sql))
                elif action.subtype in _COLUMN_CHANGES and action.name:
                    self._columns.setdefault((s.relation, action.name), why)
                elif action.subtype == "AddColumn" and action.column is not None:
                    self._added.setdefault((s.relation, action.column.name), (why, s.sql))
                elif action.subtype == "AddConstraint" and action.constraint is not None \
                        and action.constraint.name:  # ("": validated as it is added)
                    self._constraints[(s.relation, action.constraint.name)] = \
                        s.sql.strip().rstrip(";") if action.constraint.not_valid else ""
                elif action.subtype == "DropConstraint" and action.name:
                    self._constraints[(s.relation, action.name)] = None


# Settings that change what a later statement of the plan checks: which table or function an
# unqualified name is (`SET search_path TO app` then `ALTER TABLE volumes ...`), what a string
# cast to a date or timestamptz (a partition's bound, a USING) or a value cast to text is.
# (session_replication_role: which triggers, rules and referential actions a write fires,
# `guard.reached_rows` reads it; the guard sets no other)
_PROBED_SETTINGS = frozenset({"search_path", "timezone", "datestyle", "intervalstyle",
                              "extra_float_digits", "bytea_output", "lc_monetary",
                              "lc_numeric", "session_replication_role"})


# A rule's event (pglast's CmdType) as pg_trigger.tgtype's bit (`row_changes.EVENT_BITS`).
_RULE_EVENTS = {"CMD_INSERT": EVENT_BITS["INSERT"], "CMD_DELETE": EVENT_BITS["DELETE"],
                "CMD_UPDATE": EVENT_BITS["UPDATE"]}


def _giving(revision: str, domain: str, functions: Sequence[str]) -> str:
    """Why a domain's default may write: `0005 gives domain d a default calling f()`."""
    return f"{revision} gives domain {domain} a default" + (
        f" calling {functions[0]}()" if functions else "")


def _type_name(node: Mapping[str, Any]) -> str:
    """A TypeName node's name, as `schema.name` or `name` (`pg_catalog.` left out)."""
    names = strings(node.get("names"))
    return ".".join(names[1:] if names[:1] == ["pg_catalog"] else names)


def _defaults_set(s: Statement) -> Iterable[tuple[str, list[str]]]:
    """The columns whose defaults and generated columns `CREATE TABLE` or `ALTER TABLE`
    gives call functions, with those (as named): a later INSERT evaluates them.

    >>> from dbsafe.lint.statement import parse_statement as p
    >>> list(_defaults_set(p("ALTER TABLE t ALTER COLUMN c SET DEFAULT f(), "
    ...                      "ADD COLUMN d int DEFAULT g() CHECK (h(d))")))
    [('c', ['f']), ('d', ['g'])]
    """
    if s.kind not in ("CreateStmt", "AlterTableStmt"):
        return
    for kind, fields in walk(s.node):
        if kind == "ColumnDef":
            functions = sorted({name for kind, con in walk(fields.get("constraints"))
                                if kind == "Constraint" and con.get("contype") in (
                                    "CONSTR_DEFAULT", "CONSTR_GENERATED")
                                for name in called_functions(con.get("raw_expr"))})
        elif kind == "AlterTableCmd" and fields.get("subtype") == "AT_ColumnDefault":
            functions = sorted(set(called_functions(fields.get("def"))))
        else:
            continue
        if functions:
            yield str(fields.get("colname") or fields.get("name") or ""), functions


# Referential actions changing the referencing rows (pg_constraint's confdeltype and
# confupdtype): CASCADE, SET NULL, SET DEFAULT; not NO ACTION, RESTRICT ('a', 'r').
_ACTING = ("c", "n", "d")


def _application(name: str) -> bool:
    """Whether a relation is the application's: not alembic's version table, not a catalog."""
    return not name.startswith(_NOT_APPLICATION) and name != "alembic_version" \
        and not name.endswith(".alembic_version")


def _made_unless_there(s: Statement) -> str | None:
    """The relation `CREATE INDEX IF NOT EXISTS ix` or `CREATE TABLE IF NOT EXISTS t` makes
    (PostgreSQL skips it, checking nothing, where one of that name is there: the guard asks
    the database; one the plan made, dropped or renamed before, lint knows), else None."""
    if not s.node.get("if_not_exists"):
        return None
    if s.kind == "IndexStmt" and s.index_def is not None:
        return s.index_def.name
    return next(iter(s.creates), None) if s.kind == "CreateStmt" else None


def _partition_of(s: Statement) -> str | None:
    """The parent of `CREATE TABLE ... PARTITION OF parent FOR VALUES ...` (not DEFAULT),
    whose DEFAULT partition PostgreSQL scans for the rows the new bound takes."""
    bound = s.node.get("partbound") if s.kind == "CreateStmt" else None
    parents: Any = s.node.get("inhRelations") or ()
    if not bound or bound.get("is_default") or len(parents) != 1:
        return None
    return range_var(parents[0].get("RangeVar", parents[0]))


# Data statements whose writes `written_tables` reads from the statement itself (a CALL's
# procedure, an EXECUTE's PREPARE: elsewhere).
_NAMING_WRITES = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                            "SelectStmt", "CopyStmt", "TruncateStmt"})


# Statements changing no table's columns, constraints, indexes, triggers or rules
# (`RowChecks._note_shape`): data statements, settings, grants, comments, maintenance.
_NOT_RESHAPING = DATA_KINDS | frozenset({
    "VariableSetStmt", "VariableShowStmt", "TransactionStmt", "GrantStmt", "GrantRoleStmt",
    "CommentStmt", "AlterOwnerStmt", "VacuumStmt", "LockStmt", "ClusterStmt", "ReindexStmt",
    "CreateStatsStmt", "AlterStatsStmt", "CreateSeqStmt", "AlterSeqStmt", "ExplainStmt",
    "NotifyStmt", "ListenStmt", "CreateFunctionStmt", "DoStmt", "CreateSchemaStmt",
    "CreateRoleStmt", "AlterRoleStmt", "DropRoleStmt", "CreateEnumStmt", "CompositeTypeStmt",
    "CreateDomainStmt", "CreateRangeStmt", "PrepareStmt", "ExecuteStmt", "DeallocateStmt",
    "RefreshMatViewStmt", "CheckPointStmt", "DiscardStmt"})
# Statements that may change the columns or constraints of a table they do not name: a type's
# values or a domain's constraints (an enum value added lets in a value the probe's cast of it
# refuses), a function or type moved between schemas.
_RESHAPING_ANY = frozenset({"AlterEnumStmt", "AlterDomainStmt", "AlterObjectSchemaStmt",
                            "AlterTypeStmt", "CreateExtensionStmt", "AlterExtensionStmt",
                            "AlterExtensionContentsStmt", "DefineStmt", "CreateCastStmt"})
# What a DROP (not CASCADE) drops without changing another table: its own name, or nothing
# another table depends on (PostgreSQL refuses one a column or constraint depends on). A
# DROP TRIGGER names no table it changes: any table's. (DROP INDEX: its table, found by
# `RowChecks._note_dropped_indexes`.)
_DROPS_ITSELF = frozenset({"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE",
                           "OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_TYPE",
                           "OBJECT_DOMAIN", "OBJECT_SCHEMA", "OBJECT_EXTENSION"})


def _plain_table(s: Statement, plain_types: Set[str]) -> bool:
    """Whether `CREATE TABLE` makes a table no row inserted can refuse: no constraint but
    DEFAULT and NULL, columns of built-in types (not a serial: NOT NULL), no LIKE, parent or
    partitioning.

    >>> from dbsafe.lint.statement import parse_statement as p
    >>> _plain_table(p("CREATE TABLE step_5 (id int, at timestamptz DEFAULT now())"), set())
    True
    >>> [_plain_table(p(sql), set()) for sql in ("CREATE TABLE t (id int NOT NULL)",
    ...     "CREATE TABLE t (id serial)", "CREATE TABLE t (d mydomain)")]
    [False, False, False]
    """
    node = s.node
    if s.kind != "CreateStmt" or any(node.get(part) for part in (
            "inhRelations", "partbound", "partspec", "ofTypename")):
        return False
    for kind, fields in walk(node):
        if kind == "TableLikeClause" or (kind == "Constraint" and fields.get("contype") not in (
                "CONSTR_DEFAULT", "CONSTR_NULL")):
            return False
    return bool(s.columns) and all(
        column.type is not None and (column.type.schema == "pg_catalog"
                                     or column.type.name in _BUILT_IN | set(plain_types))
        for column in s.columns)


# Statements after which an UPDATE may not write what it says (ALTER TABLE ... ENABLE TRIGGER,
# ENABLE ROW LEVEL SECURITY, FORCE ...: their `Enable`/`Force` subcommands)
_REWRITING_UPDATES = frozenset({"CreateTrigStmt", "RuleStmt", "CreatePolicyStmt",
                                "AlterPolicyStmt"})


def _filled_columns(s: Statement) -> list[str]:
    """The columns an `UPDATE` of every row of a table (no WHERE, FROM, WITH or ONLY) sets to
    a constant not NULL, each; [] for any other statement (or one setting anything else)."""
    node = s.node
    if s.kind != "UpdateStmt" or not isinstance(node, dict) or any(
            node.get(part) for part in ("whereClause", "fromClause", "withClause")) \
            or not (node.get("relation") or {}).get("inh"):
        return []
    targets = [t.get("ResTarget", {}) for t in node.get("targetList") or ()]
    if not targets or any(t.get("indirection") or not t.get("name")
                          or not non_null_constant(t.get("val") or {}) for t in targets):
        return []
    return [str(t["name"]) for t in targets]


def non_null_constant(value: Mapping[str, Any]) -> bool:
    """Whether an expression (pglast, serialized) is a constant not NULL, cast or not."""
    constant = value.get("TypeCast", {}).get("arg", value)
    return "A_Const" in constant and not constant["A_Const"].get("isnull")


def _references(s: Statement) -> list[tuple[str, frozenset[str]]]:
    """The tables (and their columns) the foreign keys `s` adds reference."""
    return [(con.references, frozenset(con.referenced_columns)) for action in s.actions
            if action.subtype == "AddConstraint" and (con := action.constraint) is not None
            and con.kind == "foreign" and con.references]


def _altered_domain(s: Statement) -> str | None:
    """The domain `ALTER DOMAIN` adds a CHECK or NOT NULL to (not NOT VALID), sets NOT NULL
    or validates a constraint of: PostgreSQL checks every column of it (and of the domains
    over it) in every table, as `domain.name`; None for any other statement."""
    node = s.node
    if s.kind != "AlterDomainStmt" or not isinstance(node, dict):
        return None
    con = (node.get("def") or {}).get("Constraint") or {}
    if node.get("subtype") in ("O", "V") or (
            node.get("subtype") == "C" and con.get("contype") in ("CONSTR_CHECK",
                                                                  "CONSTR_NOTNULL")
            and not con.get("skip_validation")):
        return ".".join(strings(node.get("typeName"))) or None
    return None


def validated_columns(s: Statement, plain_types: Set[str] = frozenset()
                       ) -> frozenset[str] | None:
    """The columns a statement validates the rows of (empty: unknown, as for `VALIDATE
    CONSTRAINT`, whose columns the database knows), or None when it validates none;
    `plain_types`: types without a constraint of their own the plan made before it."""
    if _partition_of(s) or _altered_domain(s):
        return frozenset()  # (any column: the new partition's bound, the domain's columns)
    index = s.index_def
    # (an index's expressions and WHERE are evaluated over each row: one may fail on a value)
    if s.kind == "IndexStmt" and index is not None and (
            index.unique or (not index.only and _may_fail(s))):
        return frozenset(index.columns) | expression_columns(s.node.get("indexParams")) \
            | expression_columns(s.node.get("whereClause"))
    if s.kind != "AlterTableStmt" or s.object_kind not in (None, "table"):
        return None
    found: set[str] = set()
    validates = False
    filled = {a.column.name for a in s.actions
              if a.subtype == "AddColumn" and a.column is not None
              and filled_by_adding(a.column, plain_types)}
    if _checks_altered_constraint(s):
        validates = True  # (the constraint's columns the database knows)
    for action in s.actions:
        if action.subtype == "AttachPartition":
            validates = True  # its bound, the parent's indexes and foreign keys: any column
        if action.subtype == "AddColumn" and action.column is not None \
                and adding_asks_rows(action.column, plain_types):
            validates = True
            found.add(action.column.name)
        if action.subtype == "SetNotNull" and action.name in filled:
            continue  # of a column this statement adds, filled for every row
        if action.subtype in _VALIDATING:
            validates = True
            if action.subtype in ("SetNotNull", "AlterColumnType", "SetExpression") \
                    and action.name:
                found.add(action.name)
            found.update(expression_columns(action.using))
            if action.subtype == "SetExpression":
                found.update(expression_columns(action.expression))
        con = action.constraint
        # (USING INDEX: the index holds the keys apart already; a primary key's columns
        # are set NOT NULL, over their rows)
        if action.subtype == "AddConstraint" and con is not None \
                and con.kind in _VALIDATING_CONSTRAINTS and not con.not_valid \
                and con.enforced and (con.using_index is None or con.kind == "primary"):
            validates = True
            found.update(con.columns)
            found.update(expression_columns(con.expression))
    return frozenset(found) if validates else None


def _checks_altered_constraint(s: Statement) -> bool:
    """Whether an `ALTER TABLE ... ALTER CONSTRAINT` of `s` checks rows (PostgreSQL 18):
    `ENFORCED` (a foreign key made enforced is validated), `INHERIT` (a NOT NULL given to
    the children, over their rows)."""
    for item in s.node.get("cmds") or () if s.kind == "AlterTableStmt" else ():
        cmd = item.get("AlterTableCmd", {})
        change = (cmd.get("def") or {}).get("ATAlterConstraint", {})
        if cmd.get("subtype") == "AT_AlterConstraint" and (
                (change.get("alterEnforceability") and change.get("is_enforced"))
                or (change.get("alterInheritability") and not change.get("noinherit"))):
            return True
    return False


# What no row's value can make fail: a column, a constant, IS [NOT] NULL, IS [NOT] TRUE,
# AND, OR, NOT (and an index element's names)
_CANNOT_FAIL = frozenset({"IndexElem", "ColumnRef", "String", "A_Const", "NullTest",
                          "BooleanTest", "BoolExpr"})


def _may_fail(s: Statement) -> bool:
    """Whether `CREATE INDEX`'s expressions or WHERE may fail on a row's value: any but
    `_CANNOT_FAIL` (`WHERE deleted_at IS NULL` asks nothing, where a scan of a big table
    would run until its timeout for it)."""
    return any(kind not in _CANNOT_FAIL for part in ("indexParams", "whereClause")
               for kind, _ in walk(s.node.get(part)))


def adding_asks_rows(column: ColumnDef, plain_types: Set[str] = frozenset()) -> bool:
    """Whether rows may refuse `ADD COLUMN column`: NOT NULL (or a primary key) over rows
    that each hold NULL or its DEFAULT, or a unique key over rows that all hold its DEFAULT
    (a generated column: its value), and no row-filling that cannot be refused."""
    if filled_by_adding(column, plain_types):
        return False
    # (of a type that is no built-in one: a domain's CHECK or NOT NULL each row's value must
    # pass, over rows only, with or without NOT NULL of its own)
    # (a stored generated column: its expression evaluated over each row, which a value may
    # fail, 22P02 of `(c::int)`, and coerced to its type, 22001 past a varchar's length)
    # (a unique key NULLS NOT DISTINCT: two rows NULL, without a DEFAULT, collide)
    return column.not_null or _checked_by_adding(column) or (
        column.has("unique") and bool(column.default or column.has("generated"))) \
        or any(c.kind == "unique" and c.nulls_not_distinct for c in column.constraints) \
        or any(c.kind == "generated" and c.stored for c in column.constraints) \
        or not _plain(column, plain_types)


def filled_by_adding(column: ColumnDef, plain_types: Set[str] = frozenset()) -> bool:
    """Whether no row can refuse `ADD COLUMN column` (its NOT NULL, a `SET NOT NULL` of it):
    an identity or serial column numbers every row (a CHECK or FOREIGN KEY of its own: each
    row's number, which it may refuse); a constant DEFAULT not NULL fills each
    with it (a unique or primary key over it: every row the same value, which two rows
    refuse; a CHECK or FOREIGN KEY of its own: each row's value, which it may refuse). Of a
    type that is no built-in one (a domain's CHECK applies to each row's value: refused over
    rows only), it is asked. Such a column is no check: it needs no question to the database."""
    if column.has("identity") or (column.type is not None and column.type.schema is None
                                  and column.type.name in SERIAL_TYPES and not column.type.array):
        return not _checked_by_adding(column)
    default = column.default
    if not default or _checked_by_adding(column) or column.has("unique") \
            or column.has("primary") or column.has("generated") \
            or not _plain(column, plain_types):
        return False  # (a domain's CHECK or NOT NULL refuses a DEFAULT row by row)
    return non_null_constant(default)


def _plain(column: ColumnDef, plain_types: Set[str]) -> bool:
    """Whether `column`'s type holds no constraint of its own: a built-in type, or one of
    `plain_types` (an enum the plan made: `CREATE TYPE mood AS ENUM` then `ADD COLUMN m mood`
    asks nothing of the rows)."""
    # (`app.int4` is the schema's type, which may be a domain: only an unqualified name, or
    # pg_catalog's, is the built-in one)
    return column.type is not None and (
        (column.type.schema is None and column.type.name in _BUILT_IN)
        or column.type.name in plain_types)


def _added_types(s: Statement) -> set[str]:
    """The types of the columns `s` adds (their last name)."""
    return {a.column.type.name for a in s.actions
            if a.subtype == "AddColumn" and a.column is not None and a.column.type is not None}


# Statements creating a type that holds no constraint of its own (a domain's is CreateDomainStmt)
_PLAIN_TYPE_KINDS = frozenset({"CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt"})
# Functions reading an enum's labels in order: a label the plan adds is among them.
_ENUM_ORDER = frozenset({"enum_range", "enum_first", "enum_last"})


def _made_type(s: Statement) -> str:
    """The last name of the type an enum, composite or range statement creates."""
    if s.kind == "CompositeTypeStmt":
        return str((s.node.get("typevar") or {}).get("relname", ""))
    names = strings(s.node.get("typeName"))
    return names[-1] if names else ""


def _checked_by_adding(column: ColumnDef) -> bool:
    """Whether `ADD COLUMN column` checks each row's value: a CHECK or FOREIGN KEY of its
    own, enforced and not NOT VALID (`c int DEFAULT 0 CHECK (c > 0)` fails over rows only)."""
    return any(c.kind in ("check", "foreign") and c.enforced and not c.not_valid
               for c in column.constraints)


def adding_validates(contype: str, not_valid: bool, attribute: object) -> bool:
    """Whether a column constraint (pglast's `ConstrType` name, its NOT VALID, the constraint
    node after it: an attribute) checks the rows `ADD COLUMN` fills (`_checked_by_adding`)."""
    return contype in ("CONSTR_CHECK", "CONSTR_FOREIGN") and not not_valid \
        and getattr(attribute, "name", "") != "CONSTR_ATTR_NOT_ENFORCED"


# Statements after which a function's name may reach another function than the database's
# (one the plan renames or moves there, an extension's), or one may be read otherwise (an
# extension taking it in): by kind, and the object kinds of a rename or a move that count.
_MOVING_FUNCTIONS = frozenset({"CreateExtensionStmt", "AlterExtensionStmt",
                               "AlterExtensionContentsStmt"})
_ROUTINES = frozenset({"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE",
                       "OBJECT_AGGREGATE"})


def _moves_functions(s: Statement) -> bool:
    """Whether after `s` a function's name may reach another function than the database's
    (`_calls_moved`): an extension created or changed, a function renamed, moved to another
    schema, or an aggregate created (which no CREATE FUNCTION shows)."""
    node = s.node if isinstance(s.node, dict) else {}
    return s.kind in _MOVING_FUNCTIONS \
        or (s.kind == "RenameStmt" and node.get("renameType") in _ROUTINES) \
        or (s.kind == "AlterObjectSchemaStmt" and node.get("objectType") in _ROUTINES) \
        or (s.kind == "DefineStmt" and node.get("kind") == "OBJECT_AGGREGATE")


def _an(word: str) -> str:
    """`word` after its article: `an UPDATE`, `a SELECT`."""
    return f"{'an' if word[:1] in 'AEIOU' else 'a'} {word}"


def _word(s: Statement) -> str:
    """The statement's command, as PostgreSQL's tag says it (`UPDATE`, `ALTER TABLE`,
    `ALTER TYPE` for `ALTER TYPE ... ADD VALUE`): never the parse node's name."""
    if s.kind == "DefineStmt":  # CREATE AGGREGATE, CREATE OPERATOR, ...
        return "CREATE " + _object_word(s.node.get("kind"))
    if s.kind == "AlterTableStmt":  # ALTER VIEW, ALTER TYPE ... ADD ATTRIBUTE, ...
        return "ALTER " + _object_word(s.node.get("objtype") or "OBJECT_TABLE")
    if s.kind == "DropStmt":
        return "DROP " + _object_word(s.node.get("removeType"))
    if s.kind in _WORDS:
        return _WORDS[s.kind]
    # (any other: its node's name in words, `CreateConversionStmt` -> CREATE CONVERSION)
    return " ".join(re.findall(r"[A-Z][a-z]*", s.kind.removesuffix("Stmt"))).upper()


def _object_word(kind: object) -> str:
    """`OBJECT_MATVIEW` -> `MATERIALIZED VIEW`, `OBJECT_FOREIGN_TABLE` -> `FOREIGN TABLE`."""
    word = str(kind or "").removeprefix("OBJECT_")
    return {"MATVIEW": "MATERIALIZED VIEW", "TSCONFIGURATION": "TEXT SEARCH CONFIGURATION",
            "TSDICTIONARY": "TEXT SEARCH DICTIONARY", "TSPARSER": "TEXT SEARCH PARSER",
            "TSTEMPLATE": "TEXT SEARCH TEMPLATE", "FDW": "FOREIGN DATA WRAPPER",
            "OPCLASS": "OPERATOR CLASS", "OPFAMILY": "OPERATOR FAMILY",
            "EVENT_TRIGGER": "EVENT TRIGGER", "ACCESS_METHOD": "ACCESS METHOD",
            }.get(word, word.replace("_", " "))


# PostgreSQL's command tags of the statements lint reads (src/include/tcop/cmdtaglist.h)
_WORDS = {"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
          "MergeStmt": "MERGE", "SelectStmt": "SELECT", "CopyStmt": "COPY",
          "TruncateStmt": "TRUNCATE", "CallStmt": "CALL", "RenameStmt": "a rename",
          "CreateStmt": "CREATE TABLE", "CreateExtensionStmt": "CREATE EXTENSION",
          "AlterExtensionStmt": "ALTER EXTENSION", "AlterExtensionContentsStmt": "ALTER EXTENSION",
          "AlterObjectSchemaStmt": "SET SCHEMA", "IndexStmt": "CREATE INDEX",
          "AlterDomainStmt": "ALTER DOMAIN", "CreateTableAsStmt": "CREATE TABLE AS",
          "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
          "AlterEnumStmt": "ALTER TYPE", "AlterTypeStmt": "ALTER TYPE",
          "CreateCastStmt": "CREATE CAST", "CreateTrigStmt": "CREATE TRIGGER",
          "CreateEventTrigStmt": "CREATE EVENT TRIGGER", "AlterEventTrigStmt": "ALTER EVENT TRIGGER",
          "CreatePolicyStmt": "CREATE POLICY", "AlterPolicyStmt": "ALTER POLICY",
          "RuleStmt": "CREATE RULE", "ViewStmt": "CREATE VIEW",
          "CreateForeignTableStmt": "CREATE FOREIGN TABLE", "AlterFunctionStmt": "ALTER FUNCTION",
          "CreateFunctionStmt": "CREATE FUNCTION", "DoStmt": "DO",
          "AlterDefaultPrivilegesStmt": "ALTER DEFAULT PRIVILEGES",
          "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA", "SecLabelStmt": "SECURITY LABEL",
          "CreateOpClassStmt": "CREATE OPERATOR CLASS", "CreateOpFamilyStmt": "CREATE OPERATOR FAMILY",
          "AlterOpFamilyStmt": "ALTER OPERATOR FAMILY", "AlterOperatorStmt": "ALTER OPERATOR",
          "CreatePLangStmt": "CREATE LANGUAGE", "CreateAmStmt": "CREATE ACCESS METHOD",
          "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER", "CreateForeignServerStmt": "CREATE SERVER",
          "AlterTSConfigurationStmt": "ALTER TEXT SEARCH CONFIGURATION",
          "AlterTSDictionaryStmt": "ALTER TEXT SEARCH DICTIONARY",
          "AlterObjectDependsStmt": "ALTER ... DEPENDS ON EXTENSION"}

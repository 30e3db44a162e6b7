"""Rows that would refuse a pending revision: before the first revision, `dbsafe upgrade`
asks the database whether a row it holds fails a statement that validates the rows (DBS615).

`lint` captures the pending revisions on a copy of the schema, which has no rows, so `ALTER
COLUMN x SET NOT NULL` over a column holding NULLs passes there and fails half way through
the upgrade (23502), after the revisions before it were applied (OpenStack cinder). Each
statement lint found validating rows (`lint.row_checks`) is turned into a query for one row
that refuses it, run read-only on the live database:

- `SET NOT NULL` (a PRIMARY KEY's columns, PostgreSQL 18's `NOT NULL` constraint):
  `WHERE c IS NULL`;
- a CHECK: `WHERE (check) IS FALSE` (NULL passes a CHECK, as PostgreSQL treats it; one
  expression, which the planner does not split and reorder: a guard `NOT f(c) OR c::int > 0`
  runs first, as in PostgreSQL's check);
- a FOREIGN KEY: the rows whose key is complete (MATCH SIMPLE; MATCH FULL: any key not all
  NULL) and found nowhere in the referenced table;
- EXCLUDE: two rows every operator holds for (a self-join of the rows its WHERE keeps);
- UNIQUE, PRIMARY KEY, `CREATE UNIQUE INDEX`: `GROUP BY` the keys `HAVING count(*) > 1`,
  rows with a NULL key left out unless `NULLS NOT DISTINCT` (a partial index: its WHERE,
  evaluated before the keys, as the index build does; a constant key, `((true))`, left out
  of the GROUP BY, which refuses it);
- `CREATE INDEX` with expressions or a WHERE: each evaluated over the table's own rows (lint
  hands on none that no value fails: `WHERE deleted_at IS NULL`, `lint.row_checks`); a
  query calling a function outside pg_catalog asked again with the search_path PostgreSQL
  17+ builds an index with (`_restricted_failure`);
- `ADD PRIMARY KEY USING INDEX ix`: NULLs of the index's columns, which PostgreSQL sets NOT
  NULL (read from the index, or from the plan's CREATE INDEX making it);
- `VALIDATE CONSTRAINT`: the constraint as the plan's `ADD CONSTRAINT ... NOT VALID` before
  it defines it, else as the database does (`pg_get_constraintdef`); one validated already
  asks nothing (PostgreSQL checks nothing);
  so `ALTER CONSTRAINT ... ENFORCED` of a foreign key not enforced (PostgreSQL 18), and
  `ALTER CONSTRAINT ... INHERIT` of a NOT NULL: the children's NULLs;
- `ALTER COLUMN c TYPE t [USING e]`: every value cast as the statement casts it (`e`, or `c`,
  coerced to `t` by assignment: a string too long for `varchar(n)` refuses, where `CAST` would
  cut it), in `count(...)` over the rows: the query failing on a value (SQLSTATE class 22 or
  23) is the refusal. A plain cast of a text column (PostgreSQL 16+) then counts the values
  `pg_input_is_valid` refuses, with one example key. A USING expression calling a volatile
  function cannot be told (its values at the upgrade are not the probe's). A string type's
  length is checked through domains over domains and in each element of an array. After the
  cast PostgreSQL rebuilds the indexes over the column and checks its CHECKs again, the
  inheritance children's own too: a unique index's keys, an index's expressions, an
  exclusion constraint, a CHECK and a NOT NULL (a USING may give NULL) asked of the rows as
  retyped (`_rows_as`); a foreign key over it cannot be told. PostgreSQL retypes before any
  other subcommand of the statement, so a SET NOT NULL, CHECK or key the same statement
  adds is asked of the rows as retyped too.
  A change that keeps every value (`integer` to `bigint`, `guard.kept_types`) asks none of
  these: it passes without a query;
- `ALTER COLUMN g SET EXPRESSION AS (e)`: as a retype of `g` to its own type `USING e` (a
  virtual column's: its NOT NULL only); `ADD COLUMN ... GENERATED ALWAYS AS (e) STORED`: `e`
  over the rows, coerced to the column's type;
- `SET NOT NULL` of a column an earlier `ADD COLUMN` of the plan (or the same statement)
  added, and `ADD COLUMN ... NOT NULL`: `WHERE (its DEFAULT or generated expression) IS NULL`
  (none: every row is NULL; an identity: none is), counted; a unique key over its DEFAULT:
  the rows' values grouped; a CHECK it is added with: over those values (a FOREIGN KEY: cannot
  tell); of a domain with a CHECK or NOT NULL: each row's value cast to it (where that cast
  fails, the CHECK over it is not asked: PostgreSQL fails on the cast, one error); `IF NOT EXISTS` of
  a column the table has: nothing. One no row can refuse (a constant DEFAULT of a built-in
  type, no CHECK) lint hands on not at all (`lint.row_checks.filled_by_adding`);
- a CHECK, unique key, exclusion or index over a column an earlier `ADD COLUMN` of the plan (or
  the statement itself) added: asked of the rows with the column as added, its DEFAULT (or
  generated value, a domain's DEFAULT) cast to its type, or NULL (`_added_values`); a foreign
  key over one NULL in every row checks no row, over one holding its DEFAULT cannot be told;
- `SET NOT NULL` of a column an earlier `UPDATE` of every row set to a constant not NULL
  (`lint.row_checks`: no WHERE, FROM, WITH or ONLY): passes with no query, unless the table
  or a child has a trigger, a rule or row security, which may change what it writes.
- any of these of a table the plan wrote before only by one UPDATE (its first write, of it
  alone, no FROM: lint's `updated`) or by DELETEs (`deleted`) whose rows today's rows tell:
  asked over the rows they leave (`updated_rows.rows_after`, `deleted_rows._left_by`;
  `_written_rows`, task 596).

- `ALTER DOMAIN d ADD CONSTRAINT ... CHECK`/`NOT NULL`, `SET NOT NULL`, `VALIDATE
  CONSTRAINT`: every column of `d` (and of the domains over it) in every table
  (`guard.domain_rows`).
- `ATTACH PARTITION`, `CREATE TABLE ... PARTITION OF`: the partition's rows against its
  bound, the parent's indexes and foreign keys, the DEFAULT partition's rows against the new
  bound (`guard.attached_rows`).
- `INSERT ... SELECT` (or `VALUES`): the rows its SELECT gives against the table's NOT
  NULL, CHECK, unique and foreign keys and its columns' types (`guard.inserted_rows`).
- `UPDATE ... SET`: the rows it writes against the constraints over the columns it sets
  (and the CHECKs `NOT VALID`), with the same probes (`guard.updated_rows`).
- `DELETE`: the rows it deletes against the foreign keys referencing them, by their `ON
  DELETE` (`guard.deleted_rows`; a CASCADE's rows said in a line, `Probe.noted`).

A query failing on a value (`_VALUE_ERRORS`: a cast, a CHECK, an index expression) is a
refusal: PostgreSQL evaluates the same expressions over the same rows. It is said as its
SQLSTATE, condition name and the names its fields give, never its message, which quotes the
value.

The rows asked are those PostgreSQL checks: NOT NULL and CHECK recurse to inheritance
children (unless `ALTER TABLE ONLY`, `NO INHERIT`); unique and foreign keys check the table's
own rows, and look a key up in the referenced table's own rows (a partitioned table: all).

Each check is asked under the settings the plan gave its session before it (`SET
search_path`, `TimeZone`, `DateStyle`, ...: `lint.row_checks`), env.py's `SET search_path` on
its connection among them (the capture's generated SET), set back after it.

The queries run in one READ ONLY transaction, each under a statement timeout and the run's
lock timeout in a savepoint: one cut short is "not checked", never a wait; so is one over a
table whose row security policies would hide rows from it (`row_security` off: PostgreSQL
checks every row). A statement whose
table or columns do not exist now, or that an earlier statement of the plan changes the rows
of (a data migration), "could not be told": its rows are not today's (or, for a table
there is none of now, as on an empty database: the plan makes it); so is one whose query calls
a function the plan creates or replaces before it, itself or through the bodies of the
functions it calls, and one after a data statement (or a query a statement runs, or DDL
evaluating over rows: `lint.row_changes.Runs`) calling a function that writes a table or
whose writes cannot be told, or refreshing a materialized view whose query does
(`guard.called_writes`, on the database; PostgreSQL's `sum()` writes none); so is one over a
table an earlier data statement changes without naming it, through a foreign key's
referential action or a trigger (`guard.reached_rows`). A refusal names the
revision, the statement, the table or column and a count of the rows, or one example key (a
duplicate's or a missing reference's key values: never other columns, which may hold
secrets).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, Location, Report, RuleInfo, Severity, shortened

if TYPE_CHECKING:
    from pglast import ast

    from dbsafe.config import Settings
    from dbsafe.extract.migration import Migration
    from dbsafe.guard.reached_rows import Reached
    from dbsafe.lint.row_checks import PlanFacts

ROWS_REFUSE = RuleInfo(
    "DBS615", "rows-refuse-revision",
    "A pending revision validates rows (SET NOT NULL, a column added NOT NULL, a CHECK, a "
    "foreign key, a unique key, a column's new type) that the database holds and that "
    "refuse it, so it would fail half way through the upgrade.",
    Severity.ERROR, "0.2.0")

# Each query's statement timeout: the preflight asks, it does not scan for minutes.
PROBE_TIMEOUT = "10s"
# NULLs or failing rows counted up to this many (then "at least"): a scan stops there.
COUNT_CAP = 1000


@dataclass(frozen=True, slots=True)
class Probe:
    """One question for the database: a row refusing what `what` says of `subject`."""

    subject: str  # table.column, or table (constraint)
    what: str  # "holds NULLs", "fails CHECK (...)", ...
    query: str  # returns (count) or one example key's values
    counts: bool  # the query returns a count; else one row of key values, or none
    find: str = ""  # a query listing the refusing rows, for the DBA to run
    # the query failing on a value (`_VALUE_ERRORS`) is a refusal too, as PostgreSQL evaluates
    # the same expressions over the same rows; `which`: a query returning how many rows refuse
    # and one example key, where one can say without failing
    which: str = ""
    # over values cast by the statement: a query casting them alone. Where it fails too, the
    # failure is the cast probe's refusal, and leaves this one untold
    casts: str = ""
    unknown: str = ""  # why it cannot be told: no query is run
    kept: str = ""  # why no row can refuse it (a type change keeping every value): none run
    # an index build's, over the table's rows as they are: PostgreSQL 17+ calls its functions
    # with search_path `pg_catalog, pg_temp` (`_restricted_failure`)
    build: bool = False
    # the table (as to_regclass reads it) every row of which the query counts (a column
    # added NOT NULL without a DEFAULT): its count is the table's rows (`Counted`)
    every_row: str = ""
    # a query which, returning a row, makes it cannot tell (`doubted` says why), asked
    # before `query`: an UPDATE ... FROM joining a row to two, a key moving between rows
    doubt: str = ""
    doubted: str = ""
    # a count the report says where it is not 0, a pass (`what` with `{rows}` for it): the
    # rows a DELETE's `ON DELETE CASCADE` deletes in another table (`guard.deleted_rows`)
    noted: bool = False


@dataclass(frozen=True, slots=True)
class Counted:
    """The rows of a table a probe counted, every one (`Probe.every_row`), up to `cap`;
    with the statistics' estimate of them: what the report says of the table's rows
    (`rows_said`) and weighs its findings by (`guard.counted_rows`)."""

    table: str  # as the statement names it (to_regclass's reading)
    relation: str  # schema.name, as the table sizes are keyed
    rows: int  # counted, up to `cap`
    estimate: float  # reltuples (-1: never analysed)
    cap: int = 1000

    @property
    def exact(self) -> bool:
        return self.rows < self.cap

    @property
    def said(self) -> str:
        from dbsafe.schema.stats import rows_said

        return rows_said(self.rows, self.cap, self.estimate)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the database said of one pending statement."""

    revision: str
    sql: str
    subject: str
    outcome: str  # "refused" | "passes" | "cannot tell" | "not checked"
    detail: str = ""
    find: str = ""  # (refused) a query listing the rows that refuse it
    counted: Counted | None = None  # the rows of its table, where its probe counted them all
    noted: bool = False  # (passes) said in a line of its own: what it does to other rows

    def line(self) -> str:
        return (f"rows: {self.revision}: {shortened(self.sql, 80)}: {self.outcome}"
                + (f" ({self.subject}: {self.detail})" if self.detail else ""))


def probe_rows(conn: Any, checks: Sequence[dict[str, Any]], *, lock_timeout: str,
               timeout: str = PROBE_TIMEOUT) -> list[Verdict]:
    """Ask the database, read-only, whether a row refuses each of `checks` (lint's
    `summary["row_checks"]`); `conn` is a psycopg connection not in a transaction."""
    import psycopg

    verdicts: list[Verdict] = []
    followed: dict[str, str | None] = {}  # what the functions called write, once per plan
    reached: dict[str, Reached] = {}  # what the writes before a check reach, once per plan
    conn.execute("BEGIN READ ONLY")
    try:
        # (constraint_exclusion: a query its table's validated CHECKs refute reads no row, as
        # PostgreSQL skips the scan of a partition whose CHECK implies its bound; row_security
        # off: PostgreSQL checks every row whatever the policies, where a policy would hide
        # some from the probe, its query fails instead, "not checked")
        conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, true), "
                     "pg_catalog.set_config('lock_timeout', %s, true), "
                     "pg_catalog.set_config('constraint_exclusion', 'on', true), "
                     "pg_catalog.set_config('row_security', 'off', true)",
                     (timeout, lock_timeout))
        for check in checks:
            settings = check.get("settings") or {}
            own = _settings(conn, settings, {})
            try:
                verdicts.extend(_check_verdicts(conn, check, psycopg, timeout, followed,
                                                reached))
            finally:
                _settings(conn, own, settings)
    finally:
        conn.execute("ROLLBACK")
    return verdicts


def _not_today(conn: Any, table: str, psycopg: Any, *, said: bool = False) -> str:
    """How a check's rows are not today's: the plan makes `table` (a table, or a domain
    `ALTER DOMAIN` validates) when there is none of that name now, as on an empty database;
    else its rows are not today's (an earlier statement of the plan changes them), unless
    the reason `said` what is not today's already (lint's "the columns and constraints of
    databases it meets are not today's" was followed by ": its rows are not today's", a
    second reason no statement gave: postgresus, task 578)."""
    try:
        with conn.transaction():  # (a savepoint: a name it cannot read leaves the rest)
            missing = conn.execute("SELECT pg_catalog.to_regclass(%s) IS NULL "
                                   "AND pg_catalog.to_regtype(%s) IS NULL",
                                   (table, table)).fetchone()[0]
    except psycopg.Error:
        missing = False
    return f", and {table} does not exist now: the plan makes it" if missing \
        else "" if said else ": its rows are not today's"


def _calls_write(conn: Any, check: dict[str, Any], followed: dict[str, str | None]
                 ) -> str | None:
    """Why the functions the plan called before `check` may have changed its rows: one
    writes a table, or what it writes cannot be told (`guard.called_writes`: the database's
    functions by name, every overload, with those the plan defines; a materialized view of
    the database refreshed, its query's); None when they write none (PostgreSQL's own:
    `sum()`, `lower()`). `followed` keeps each answer by the calls and the plan's functions,
    which checks after the same calls share."""
    import itertools
    import json

    from dbsafe.guard.called_writes import CalledWrites

    calls = check.get("calls") or ()
    refreshed = check.get("refreshed") or ()
    if not calls and not refreshed:
        return None
    created = check.get("created_functions") or {}
    key = json.dumps([calls, refreshed, created], sort_keys=True)
    if key not in followed:
        following = CalledWrites(conn, created)
        followed[key] = None
        # (asked in turn, up to the first that writes; a materialized view refreshed runs its
        # query, as the database holds it)
        answers = itertools.chain(
            ((where, *following.of_calls([name])) for name, where in calls),
            ((where, *following.of_view(view)) for view, where in refreshed))
        for where, tables, why in answers:
            if why is not None or tables:
                followed[key] = f"{where} before it " + (
                    f"({why})" if why is not None
                    else f"(which writes {', '.join(sorted(tables))})")
                break
    return followed[key]


def _reached(conn: Any, check: dict[str, Any], reached: dict[str, Reached]) -> Reached:
    """The tables the writes before `check` change through referential actions and triggers
    (`guard.reached_rows`), kept by what lint hands on of them, which checks after the same
    statements share."""
    import json

    from dbsafe.guard.called_writes import CalledWrites
    from dbsafe.guard.reached_rows import reached_tables

    key = json.dumps([check.get(part) for part in (
        "writes", "triggers", "actions", "enabled_triggers", "disabled_triggers", "rules",
        "defaults", "domains", "typed", "undefaulted", "created_under", "write_roles",
        "created_functions", "settings")],
        sort_keys=True)
    if key not in reached:
        reached[key] = reached_tables(conn, check, CalledWrites(
            conn, check.get("created_functions") or {}))
    return reached[key]


# Settings of the plan the guard reads rather than sets (`session_replication_role`: which
# triggers a write fires, `guard.reached_rows`; a superuser's to set, which the guard's role
# may not be, and no query of the probe reads it).
_NOT_SET = frozenset({"session_replication_role"})


def _settings(conn: Any, settings: dict[str, str | None], own: dict[str, str | None]
              ) -> dict[str, str | None]:
    """Set `settings` (the plan's SET before a check, `lint.row_checks`: None, the session's
    own, `own`) for the rest of the transaction; returns the values they had."""
    had: dict[str, str | None] = {}
    for name, value in settings.items():
        if name in _NOT_SET:
            continue
        had[name] = conn.execute("SELECT pg_catalog.current_setting(%s)", (name,)).fetchone()[0]
        conn.execute("SELECT pg_catalog.set_config(%s, %s, true)",
                     (name, value if value is not None else own.get(name, had[name])))
    return had


def _check_verdicts(conn: Any, check: dict[str, Any], psycopg: Any, timeout: str,
                    followed: dict[str, str | None], reached: dict[str, Reached]
                    ) -> list[Verdict]:
    """What the database says of one of lint's `row_checks` (`followed`: `_calls_write`'s
    answers so far; `reached`: `_reached`'s)."""
    from dbsafe.guard.reached_rows import checked_among
    from dbsafe.lint.row_checks import PlanFacts
    from dbsafe.lint.statement import same_relation

    revision, sql, table = str(check["revision"]), str(check["sql"]), str(check["table"])
    if check.get("inserts") and not check.get("reshaped"):
        from dbsafe.guard.inserted_rows import refusable

        if not refusable(conn, table):
            return []  # (no constraint, as the database holds the table: no row refuses it)
    if check.get("updates") and not check.get("reshaped"):
        from dbsafe.guard import updated_rows

        if not updated_rows.refusable(conn, table, sql):
            return []  # (nothing it sets is constrained: no row it writes refuses it)
    if check.get("deletes") and not check.get("reshaped"):
        from dbsafe.guard import deleted_rows

        if not deleted_rows.refusable(conn, table):
            return []  # (no foreign key references its rows: no row it deletes refuses it)
    unsure = check.get("unsure") or _dropped_unknown(conn, check.get("dropped_indexes") or {})
    unsure = unsure or _retyped_otherwise(conn, check.get("retyped") or (), sql)
    unsure = unsure or _calls_write(conn, check, followed)
    if not unsure and (check.get("writes") or check.get("typed")):
        found = _reached(conn, check, reached)
        tables = found.tables
        if check.get("inserts"):  # (its table written before: the keys it holds, alone)
            written = next((why for name, why in tables.items() if same_relation(name, table)),
                           None)
            tables = {name: why for name, why in tables.items()
                      if not same_relation(name, table)}
            if written:  # (then the plan's own writes of it are not all its keys')
                check = {**check, "keys_unsure": check.get("keys_unsure") or written,
                         "keys_written": None}
        unsure = found.unknown or checked_among(conn, sql, tables)
        # (a foreign key's referenced table, a DEFAULT partition, a domain's tables: as
        # those an earlier statement writes, which lint names first)
        changed = dict(check.get("changed") or {})
        for name, why in found.tables.items():
            changed.setdefault(name, why)
        # (a table only DELETEs wrote, lint says, that a trigger or action reaches too: its
        # rows are not those the DELETEs leave)
        deleted = dict(check.get("deleted") or {})
        for name, why in found.tables.items():
            for only in [each for each in deleted if same_relation(each, name)]:
                del deleted[only]
                changed[only] = why
        check = {**check, "changed": changed, "deleted": deleted}
    if unsure:
        said = bool(check.get("said")) and unsure == check.get("unsure")
        return [Verdict(revision, sql, table, "cannot tell",
                        f"{unsure}{_not_today(conn, table, psycopg, said=said)}")]
    # (the tables a CREATE TABLE IF NOT EXISTS of the plan makes, there being none now: new,
    # empty; one there is the database's, its rows asked, PostgreSQL skipping the CREATE)
    unless = check.get("unless_there") or {}
    made = [name for name, create in unless.items() if not _existing(conn, _parsed(create))]
    if check.get("new") or (table in unless and len(made) == len(unless)):
        return []  # the plan creates it, and nothing called writes it
    if made:
        check = {**check, "empty": [*(check.get("empty") or ()), *made]}
    try:
        probes = list(_probes(conn, sql, PlanFacts.of(check)))
    except _CannotTell as why:
        return [Verdict(revision, sql, table, "cannot tell", str(why))]
    redefined = frozenset(check.get("functions") or ())
    verdicts = []
    for probe in probes:
        called = _calls_redefined(conn, probe, redefined)
        verdicts.append(
            Verdict(revision, sql, probe.subject, "cannot tell",
                    f"the plan (re)defines {called}() before it: what it returns now is not "
                    "what the statement gets") if called
            else _ask(conn, probe, revision, sql, psycopg, timeout,
                      labels=check.get("labels") or ()))
    return verdicts


def _dropped_unknown(conn: Any, dropped: Mapping[str, Sequence[Any]]) -> str | None:
    """Why a check cannot be told where an earlier DROP INDEX of the plan (lint's
    `dropped_indexes`: name -> [why, IF EXISTS]) drops an index the database does not hold
    now (nor the plan made before it): which table it is of is not told, any table's
    unique keys may be fewer. None where each is found (its table is then pg_index's to
    say, `inserted_rows.unique_probes`), or IF EXISTS drops nothing."""
    from dbsafe.guard.reached_rows import _quoted

    for name, (why, missing_ok) in dropped.items():
        found = conn.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL",
                             (_quoted(name),)).fetchone()[0]
        if not found and not missing_ok:
            return f"{why}: no index {name} is there now, so which table it is of is not told"
    return None


def refusal_finding(verdict: Verdict, *, allowed: bool, location: Location | None = None,
                    by: str = "upgrade") -> Finding:
    """DBS615 for a statement the database's rows refuse, at `location` (the statement's
    `op.*` call; none where lint handed its check on without one), as `by` says it:
    "upgrade" of a revision `dbsafe upgrade` (or `plan`) would apply, a note where `--allow
    DBS615` accepts it; "lint" of one `lint --database-url` found pending (no `--allow`
    there); "file" of a pending SQL migration file its own runner applies (the runner stops
    there with the files before it applied). The message is the same wherever it is said."""
    rows = f"The rows: `{verdict.find}`. " if verdict.find else ""
    if by == "file":
        return Finding(
            ROWS_REFUSE.code,
            f"Migration `{verdict.revision}` would fail on the database's rows: "
            f"`{verdict.subject}` {verdict.detail}, which `{shortened(verdict.sql, 120)}` "
            "refuses; its runner would stop there, the files before it applied.",
            Severity.ERROR, location=location, subject=verdict.subject,
            context=(("Migration", verdict.revision), ("Statement", verdict.sql)),
            help=rows + "Fix the rows first (a migration before it, or by hand) before its "
            "runner applies the pending files.")
    message = (f"Revision `{verdict.revision}` would fail on the database's rows: "
               f"`{verdict.subject}` {verdict.detail}, which `{shortened(verdict.sql, 120)}` "
               "refuses.")
    context = (("Revision", verdict.revision), ("Statement", verdict.sql))
    if by == "lint":  # `dbsafe upgrade` would refuse it before the first one
        return Finding(
            ROWS_REFUSE.code, message, Severity.ERROR, location=location,
            subject=verdict.subject, context=context,
            help=rows + "Fix the rows first (a data migration before it, in the same or an "
            "earlier revision): `dbsafe upgrade` refuses it, and `alembic upgrade` would stop "
            "there with the revisions before it applied.")
    return Finding(
        ROWS_REFUSE.code, message, Severity.NOTE if allowed else Severity.ERROR,
        location=location, subject=verdict.subject, context=context,
        help=None if allowed else
        rows + "Fix the rows first (a data migration before it, in the same or an earlier "
        "revision), or pass --allow DBS615 to apply it anyway.")


@dataclass(frozen=True, slots=True)
class Told:
    """One verdict as a report says it: its rows line (None for a pass, said in the count
    alone), its DBS615 (a refusal no `dbsafe: ignore[DBS615]` comment suppressed), and
    the comment's `path:line` where one did."""

    verdict: Verdict
    line: str | None
    finding: Finding | None = None
    suppressed_at: str | None = None


def tell(verdicts: Sequence[Verdict], at: Mapping[tuple[str, str], Location], root: Path, *,
         allowed: bool, by: str = "upgrade",
         fallback: Callable[[Verdict], Location | None] = lambda v: None
         ) -> tuple[list[Told], str]:
    """Each of `verdicts` as the report says it (`Told`), and the count closing its rows
    lines (`verdicts_summary`). A refusal is DBS615 (`refusal_finding` as `by` says it) at
    its statement (`at`, by revision and SQL: `statement_locations`; else `fallback`),
    unless a `dbsafe: ignore[DBS615]` comment there suppresses it (looked for as lint
    looks: `suppressed_at`; not where `--allow DBS615` accepts it anyway)."""
    told: list[Told] = []
    suppressed = 0
    for v in verdicts:
        location = at.get((v.revision, v.sql))
        where = suppressed_at(location, root) if v.outcome == "refused" and not allowed \
            else None
        if where is not None:
            suppressed += 1
            told.append(Told(v, suppressed_line(v, where), suppressed_at=where))
            continue
        finding = refusal_finding(v, allowed=allowed, by=by,
                                  location=location or fallback(v)) \
            if v.outcome == "refused" else None
        told.append(Told(v, None if v.outcome == "passes" and not v.noted else v.line(),
                         finding))
    return told, verdicts_summary(verdicts, allowed=allowed, suppressed=suppressed)


def rows_selected(settings: Settings) -> bool:
    """Whether DBS615 is kept by `--select`/`--ignore` (`select`, `ignore` in
    [tool.dbsafe]): where it is not, a report has nothing to say of the rows, and they
    are not asked (they were, and every refusal dropped)."""
    from dbsafe.core import select_findings

    return bool(select_findings([Finding(ROWS_REFUSE.code, "", ROWS_REFUSE.default_severity)],
                                select=settings.select, ignore=settings.ignore))


# The rows line of a report whose --select/--ignore leaves DBS615 out.
NOT_SELECTED = (f"rows: not asked of the database: --select/--ignore leaves "
                f"{ROWS_REFUSE.code} out")


def verdicts_summary(verdicts: Sequence[Verdict], *, allowed: bool, suppressed: int = 0) -> str:
    """The preflight's last rows line: every outcome counted, so that a check that could
    not be told or was not checked is never read as "0 refused" alone; `suppressed`: the
    refusals a `dbsafe: ignore[DBS615]` comment at their statement suppressed."""
    refused = sum(1 for v in verdicts if v.outcome == "refused")
    others = [f"{n} {outcome}" for outcome in ("passes", "cannot tell", "not checked")
              if (n := sum(1 for v in verdicts if v.outcome == outcome))]
    return (f"rows: {len(verdicts)} validation(s) of the pending statements asked of the "
            f"database's rows: {refused} refused" + (" (allowed)" if refused and allowed else "")
            + (f" ({suppressed} suppressed by a `dbsafe: ignore[{ROWS_REFUSE.code}]` comment)"
               if suppressed else "")
            + "".join(f", {other}" for other in others))


def statement_locations(checks: Sequence[dict[str, Any]]) -> dict[tuple[str, str], Location]:
    """Where each of lint's `row_checks` has its statement (its `at`), by (revision, SQL):
    what a verdict is matched to (a check lint handed on without one, as an older cache's,
    has none)."""
    out: dict[tuple[str, str], Location] = {}
    for check in checks:
        at = check.get("at")
        if isinstance(at, list | tuple) and len(at) == 3 and at[0] != "<sql>":
            out.setdefault((str(check["revision"]), str(check["sql"])),
                           Location(str(at[0]), int(at[1]), int(at[2])))
    return out


def suppressed_at(location: Location | None, root: Path) -> str | None:
    """`path:line` of the `dbsafe: ignore[DBS615]` comment that suppresses a refusal of the
    statement at `location` (a path shown relative to `root`), or None. The refusal is
    found after lint applied the suppressions (the rows are asked once lint is done), so
    the comment is looked for here, as lint looks for it: on the statement's first line or
    the line above, or `ignore-file` in the file's leading comments. In an alembic revision
    the statement's line is its `op.*` call's, as lint's findings have it."""
    from dbsafe.extract.suppressions import suppressing

    if location is None:
        return None
    try:
        source = (root / location.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    directive = suppressing(ROWS_REFUSE.code, location, source)
    return None if directive is None else \
        f"{directive.location.path}:{directive.location.line}"


def suppressed_line(verdict: Verdict, where: str) -> str:
    """The rows line of a refusal a comment suppressed: said, not dropped in silence."""
    return f"{verdict.line()}: suppressed by `dbsafe: ignore[{ROWS_REFUSE.code}]` at {where}"


def pending_files_rows(settings: Settings, report: Report,
                       migrations: Sequence[Migration]) -> Report:
    """`report` (lint's, of SQL migration files pending on `--database-url`) with the rows
    asked whether they refuse a statement of them that validates rows (DBS615), as `dbsafe
    upgrade`'s preflight asks of alembic revisions. Their runner applies them file by file,
    so a refused file stops it half way (golang-migrate then leaves its history dirty):
    said before it runs. A refusal a `dbsafe: ignore[DBS615]` comment at its statement
    suppresses is said on its rows line, not as a finding."""
    checks = report.summary.get("row_checks")
    if not isinstance(checks, list) or not checks:
        return report
    at = {(m.path, s.sql): s.location for m in migrations for s in m.statements}
    return _rows_asked(settings, report, checks, at, lambda v: Location(v.revision, 1),
                       file=True)


def pending_revisions_rows(settings: Settings, report: Report,
                           migrations: Sequence[Migration]) -> Report:
    """`report` (lint's, of the alembic revisions pending on `--database-url`: `migrations`,
    those after its revision, captured on a copy of its schema) with the rows asked whether
    they refuse a statement of them that validates rows (DBS615), the questions `dbsafe
    upgrade`'s preflight asks before the first revision, at the statement's `op.*` call (a
    check handed on without its place: the revision file's first line). A check of any
    other revision (one the database holds already) is not asked: its rows were met."""
    checks = report.summary.get("row_checks")
    if not isinstance(checks, list) or not checks:
        return report
    files = {m.revision: m.path for m in migrations if m.kind == "alembic" and m.revision}
    pending = [c for c in checks if str(c.get("revision")) in files]
    if not pending:
        return report
    return _rows_asked(settings, report, pending, {},
                       lambda v: Location(files[v.revision], 1), file=False)


def _rows_asked(settings: Settings, report: Report, checks: Sequence[dict[str, Any]],
                at: dict[tuple[str, str], Location],
                fallback: Callable[[Verdict], Location], *, file: bool) -> Report:
    """`report` with `checks` asked of `--database-url`'s rows: each refusal a DBS615 at its
    statement (`at`, else lint's `at` of the check, else `fallback`), unless a `dbsafe:
    ignore[DBS615]` comment there suppresses it; each outcome but a pass on a rows line,
    and the count closing the report's lines. Where `--select`/`--ignore` leaves DBS615
    out, none is asked, and a line says so."""
    import psycopg

    from dbsafe.core import select_findings
    from dbsafe.pg.connect import connect, one_line
    from dbsafe.pg.urls import to_libpq_url

    lines = list(report.summary.get("lines") or [])  # type: ignore[call-overload]
    if not rows_selected(settings):
        lines.append(NOT_SELECTED)
        return replace(report, summary={**report.summary, "lines": lines})
    url = to_libpq_url(settings.database_url or "")
    try:
        with connect(url) as conn:
            verdicts = probe_rows(conn, checks, lock_timeout=settings.lock_timeout)
    except psycopg.Error as exc:
        lines.append(f"rows: not checked: {one_line(exc, url)}")
        return replace(report, summary={**report.summary, "lines": lines})
    told, count = tell(verdicts, {**at, **statement_locations(checks)}, settings.project_root,
                       allowed=False, by="file" if file else "lint", fallback=fallback)
    lines += [t.line for t in told if t.line is not None]
    lines.append(count)
    from dbsafe.guard.counted_rows import weighed_by_counts

    # (a table the rows were counted of: its findings say that count, `guard.counted_rows`)
    findings = tuple(weighed_by_counts(report.findings, verdicts,
                                                settings.severity)) + tuple(select_findings(
        [t.finding for t in told if t.finding is not None],
        select=settings.select, ignore=settings.ignore, severity=settings.severity))
    return replace(report, findings=findings, summary={**report.summary, "lines": lines})


@dataclass(frozen=True, slots=True)
class _Table:
    """A table a statement checks: its name, and the rows PostgreSQL checks (FROM text)."""

    name: str  # as to_regclass reads it (no ONLY)
    recursing: str  # NOT NULL, CHECK: the children too, unless ALTER TABLE ONLY
    own: str  # unique keys, foreign keys: the table's own rows (a partitioned one's: all)


class _CannotTell(Exception):
    """The statement's rows cannot be asked about as they are now (said why)."""


def _ask(conn: Any, probe: Probe, revision: str, sql: str, psycopg: Any,
         timeout: str, *, labels: Sequence[Sequence[str]] = ()) -> Verdict:
    """What the database answers `probe`; `labels`: the enum labels the plan adds before
    it (lint's [type, label, why] each), which a value failing to cast to its enum
    (22P02) may be: the database's type lacks it now, the upgrade's holds it."""
    if probe.unknown:
        return Verdict(revision, sql, probe.subject, "cannot tell", probe.unknown)
    if probe.kept:
        return Verdict(revision, sql, probe.subject, "passes", probe.kept)
    try:
        with conn.transaction():  # a savepoint: a cut query leaves the others to run
            if probe.doubt and conn.execute(probe.doubt).fetchone() is not None:
                return Verdict(revision, sql, probe.subject, "cannot tell", probe.doubted)
            row = conn.execute(probe.query).fetchone()
    except psycopg.errors.QueryCanceled:
        return Verdict(revision, sql, probe.subject, "not checked",
                       f"the query ran past its statement timeout ({timeout})")
    except psycopg.errors.LockNotAvailable:
        return Verdict(revision, sql, probe.subject, "not checked",
                       "another session holds a lock on the table")
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn,
            psycopg.errors.UndefinedObject, psycopg.errors.UndefinedFunction) as exc:
        return Verdict(revision, sql, probe.subject, "cannot tell",
                       f"{exc.diag.message_primary} now, so it is made by the plan")
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        return Verdict(revision, sql, probe.subject, "cannot tell",
                       f"{exc.diag.message_primary}: it writes, so the probe cannot run it")
    except psycopg.Error as exc:
        if not str(exc.sqlstate or "").startswith(_VALUE_ERRORS):
            return Verdict(revision, sql, probe.subject, "not checked",
                           _without_values(str(exc.diag.message_primary or exc).strip()))
        if probe.casts and not _runs(conn, probe.casts, psycopg):
            return Verdict(revision, sql, probe.subject, "cannot tell",
                           f"the values do not cast ({exc.sqlstate}), so it is not asked")
        if labels and exc.sqlstate == "22P02":
            return Verdict(revision, sql, probe.subject, "cannot tell", (
                f"{labels[0][2]}: a value fails to cast (22P02), which may be that label, "
                "one the type lacks now"))
        return _value_refused(conn, probe, revision, sql, exc)
    restricted = _restricted_failure(conn, probe.query, psycopg) if probe.build else ""
    if restricted:
        return Verdict(revision, sql, probe.subject, "refused",
                       "is built calling functions with search_path pg_catalog, pg_temp "
                       f"(PostgreSQL 17+), under which one fails ({restricted})")
    if probe.counts:
        count = int(row[0]) if row else 0
        counted = _counted(conn, probe.every_row, count, psycopg) if probe.every_row else None
        if not count:
            return Verdict(revision, sql, probe.subject, "passes", counted=counted)
        amount = f"at least {count:,}" if count >= COUNT_CAP else f"{count:,}"
        if probe.noted:  # (what it does to other rows: a pass, said)
            return Verdict(revision, sql, probe.subject, "passes",
                           probe.what.replace("{rows}", amount), probe.find, noted=True)
        detail = f"{probe.what} in {amount} row(s)"
        if counted is not None and not counted.exact and counted.estimate >= COUNT_CAP:
            # (the table's rows, as the plan's lock lines and lint's `Table size` say them:
            # `at least 1,000` stood beside `~3.6k rows` of the same table, task 546)
            detail = f"{probe.what} in every row, {counted.said}"
        return Verdict(revision, sql, probe.subject, "refused", detail, probe.find,
                       counted=counted)
    if row is None:
        return Verdict(revision, sql, probe.subject, "passes")
    key = ", ".join("NULL" if v is None else shortened(str(v), 40) for v in row)
    return Verdict(revision, sql, probe.subject, "refused", f"{probe.what}, e.g. key ({key})",
                   probe.find)


def _counted(conn: Any, table: str, count: int, psycopg: Any) -> Counted:
    """`count`, the rows of `table` a probe counted (up to `COUNT_CAP`), with the
    statistics' estimate of them (`schema.stats.row_estimate`; -1 where it cannot be
    read)."""
    from dbsafe.schema.stats import row_estimate

    try:
        with conn.transaction():
            found = row_estimate(conn, table)
    except psycopg.Error:
        found = None
    relation, estimate = found if found is not None else (table, -1.0)
    return Counted(table, relation, count, estimate, COUNT_CAP)


# PostgreSQL quotes a value as "%s", a quote within it not doubled: a value runs from its
# opening quote to the last quote before the words that follow it. One the message ends
# with: `invalid input syntax for type integer: "12a"` (from the first `: "` on).
_VALUE_AT_END = re.compile(r':\s*".*"\s*$', re.DOTALL)
# One within: `value "99999999999" is out of range for type integer`, `time zone
# "mars/olympus" not recognized`, `invalid value "xx" for "MM"`.
_VALUE_WITHIN = re.compile(
    r'".*"(?= is out of range for type | not recognized| for "| is not a valid )', re.DOTALL)
# Any other quoted text, but for a name (a constraint's, domain's, enum's, relation's).
_QUOTED_OR_NAME = re.compile(r'((?:constraint|domain|enum|relation|type|column) "[^"]*")|"[^"]*"')


def _without_values(message: str) -> str:
    """PostgreSQL's error message less the values it quotes: a row's value may be a secret."""
    message = _VALUE_WITHIN.sub('"…"', _VALUE_AT_END.sub("", message), count=1)
    return _QUOTED_OR_NAME.sub(lambda m: m.group(1) or '"…"', message)


# SQLSTATE classes of an error a row's value raises: data exception, integrity constraint
# violation, a PL/pgSQL function's RAISE or ASSERT. PostgreSQL raises the same running the
# statement over the same rows (a cast, a CHECK, an index expression): a refusal.
_VALUE_ERRORS = ("22", "23", "P0")


def _restricted_failure(conn: Any, query: str, psycopg: Any) -> str:
    """What fails (`_error_said`) where an index build's `query`, which ran, is run as
    PostgreSQL 17+ builds an index: its names resolved as written, the functions it calls run
    with search_path `pg_catalog, pg_temp`, so that one calling another unqualified (a
    wrapper of `unaccent()`) fails on every row, 42883; "" where none does, where the query
    calls no function outside pg_catalog, or before PostgreSQL 17. Its tables and functions
    are qualified with the schemas the session finds them in; an error without a function's
    context is its own naming's (an operator of an extension), not the build's: ""."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    if conn.info.server_version < 170000:
        return ""
    stmt: Any = parse_sql(query)[0].stmt
    called = False
    for node in _nodes(stmt):
        if isinstance(node, ast.FuncCall) and len(node.funcname or ()) == 1:
            name = str(node.funcname[0].sval)  # type: ignore[index]
            row = conn.execute(
                "SELECT s.name FROM unnest(current_schemas(true)) WITH ORDINALITY AS s(name, i) "
                "WHERE EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                "p.pronamespace WHERE n.nspname = s.name AND p.proname = %s) "
                "ORDER BY s.i LIMIT 1", (name,)).fetchone()
            if row and row[0] != "pg_catalog":
                called = True
                node.funcname = (ast.String(sval=str(row[0])), ast.String(sval=name))
        elif isinstance(node, ast.RangeVar) and not node.schemaname:
            row = conn.execute("SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
                               "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
                               (_ident(str(node.relname)),)).fetchone()
            node.schemaname = str(row[0]) if row else None
    if not called:
        return ""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', "
                         "true)")
            conn.execute(str(RawStream()(stmt)))
            raise _Restored  # (the search_path set back)
    except _Restored:
        return ""
    except psycopg.Error as exc:
        return _error_said(exc) if exc.diag.context else ""


class _Restored(Exception):
    """Leaves a savepoint by rolling it back: the settings made in it are undone."""


def _nodes(tree: Any) -> Iterator[Any]:
    """Each pglast node of `tree`, itself first."""
    from pglast import ast

    if isinstance(tree, ast.Node):
        yield tree
        for attribute in tree:
            yield from _nodes(getattr(tree, attribute))
    elif isinstance(tree, tuple):
        for item in tree:
            yield from _nodes(item)


def _runs(conn: Any, query: str, psycopg: Any) -> bool:
    """Whether `query` runs (in a savepoint); cut short by its timeout, or any other error:
    not known to, so no refusal is said."""
    try:
        with conn.transaction():
            conn.execute(query)
    except psycopg.Error:
        return False
    return True


def _error_said(exc: Any) -> str:
    """A value's error as SQLSTATE, condition name and the names its fields give (constraint,
    column, type): never PostgreSQL's message, which may quote the row's value or its bytes
    (`invalid input syntax for type integer: "12a"`, `invalid byte sequence for encoding
    "UTF8": 0xff`)."""
    said = str(exc.sqlstate)
    if getattr(type(exc), "sqlstate", None) == exc.sqlstate:  # psycopg's class of it
        said += " " + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_",
                             type(exc).__name__).lower().removesuffix("_ext")
    names = [f"{what} {name}" for what, name in (
        ("constraint", exc.diag.constraint_name), ("column", exc.diag.column_name),
        ("type", exc.diag.datatype_name)) if name]
    return said + (f": {', '.join(names)}" if names else "")


def _value_refused(conn: Any, probe: Probe, revision: str, sql: str, exc: Any) -> Verdict:
    """A refusal by a value's error (a cast, a CHECK or an index expression failing on it):
    the error (`_error_said`), and where `probe.which` can say, how many rows and one
    example key."""
    detail = f"{probe.what} ({_error_said(exc)})"
    row = None
    if probe.which:
        try:
            with conn.transaction():
                row = conn.execute(probe.which).fetchone()
        except Exception:  # noqa: BLE001 - the error above is the answer; this only adds to it
            row = None
    if row and row[0]:
        count = int(row[0])
        amount = f"at least {count:,}" if count >= COUNT_CAP else f"{count:,}"
        detail += f" in {amount} row(s)" + (f", e.g. key ({shortened(str(row[1]), 40)})"
                                            if row[1] is not None else "")
    # (the query listing the rows, but for a cast's, fails on the same value)
    return Verdict(revision, sql, probe.subject, "refused", detail,
                   probe.find if probe.which else "")


def _probes(conn: Any, sql: str, plan: PlanFacts) -> Iterator[Probe]:
    """The questions `sql` asks of the rows; `plan`: what the plan does before it (the
    tables it changes the rows of, the columns it adds or fills, the types and partitions
    it makes)."""
    from pglast import ast, parse_sql

    from dbsafe.guard.attached_rows import attach_probes

    stmt = parse_sql(sql)[0].stmt
    if isinstance(stmt, ast.InsertStmt):  # the rows it inserts, as its SELECT gives them
        from dbsafe.guard.inserted_rows import insert_probes

        yield from insert_probes(conn, stmt, plan)
        return
    if isinstance(stmt, ast.UpdateStmt):  # the rows it writes, as its SET gives them
        from dbsafe.guard.updated_rows import update_probes

        yield from update_probes(conn, stmt, plan)
        return
    if isinstance(stmt, ast.DeleteStmt):  # the rows it deletes, other tables reference
        from dbsafe.guard.deleted_rows import delete_probes

        yield from delete_probes(conn, stmt, plan)
        return
    existing = _existing(conn, stmt)
    if existing:
        yield Probe(existing, "", "", counts=False, kept=(
            f"{existing} exists already: PostgreSQL skips the statement (IF NOT EXISTS)"))
        return
    if isinstance(stmt, ast.AlterDomainStmt):  # every column of the domain
        from dbsafe.guard.domain_rows import domain_probes

        yield from domain_probes(conn, stmt, plan.changed)
        return
    if isinstance(stmt, ast.CreateStmt) and stmt.inhRelations:  # PARTITION OF: as attached
        yield from attach_probes(conn, _table(conn, stmt.inhRelations[0]),
                                 ast.PartitionCmd(name=stmt.relation, bound=stmt.partbound),
                                 plan)
        return
    # (its table written before by an UPDATE, or DELETEs, whose rows today's rows tell: the
    # rows they leave, task 596)
    assert isinstance(stmt, (ast.IndexStmt, ast.AlterTableStmt))
    table = _table(conn, stmt.relation)
    rows, casts = _written_rows(conn, table, stmt, plan)
    for probe in _table_probes(conn, sql, stmt, plan, rows, written=rows is not table):
        if casts and probe.query:
            probe = replace(probe, casts=f"({casts}) UNION ALL ({probe.casts})"
                            if probe.casts else casts)
        yield probe


def _written_rows(conn: Any, table: _Table, stmt: Any, plan: PlanFacts) -> tuple[_Table, str]:
    """`table` as the plan's earlier writes lint hands on with the check leave it: one
    UPDATE of it (`plan.updated`: `updated_rows.rows_after`, with a query casting the
    values it sets, `Probe.casts`), DELETEs of it alone (`plan.deleted`:
    `deleted_rows._left_by`, today's rows less those each deletes, no value cast: ""); else
    `table` itself, with ""."""
    from dbsafe.lint.statement import qualified, same_relation

    relation = stmt.relation
    named = qualified(relation.catalogname, relation.schemaname, relation.relname)
    update = next((sql for name, sql in plan.updated.items() if same_relation(name, named)),
                  None)
    if update is not None:
        from dbsafe.guard.updated_rows import rows_after

        rows, casts = rows_after(conn, table.name, update)
        return _Table(table.name, rows, rows), casts
    deletes = next((sqls for name, sqls in plan.deleted.items()
                    if same_relation(name, named)), None)
    if deletes:
        from dbsafe.guard.deleted_rows import _left_by

        left = _left_by(conn, table.name, deletes)
        return _Table(table.name, f"(SELECT r.* FROM {table.recursing} r WHERE true{left}) "
                      "AS rewritten",
                      f"(SELECT r.* FROM {table.own} r WHERE true{left}) AS rewritten"), ""
    return table, ""


def _table_probes(conn: Any, sql: str, stmt: Any, plan: PlanFacts, table: _Table, *,
                  written: bool) -> Iterator[Probe]:
    """The questions `CREATE INDEX` or `ALTER TABLE` `stmt` asks of `table`'s rows (as
    the plan's earlier writes leave them, `written`: `_written_rows`)."""
    from pglast import ast
    from pglast.enums import AlterTableType, ConstrType

    from dbsafe.guard.attached_rows import attach_probes
    from dbsafe.guard.kept_types import kept_values

    if isinstance(stmt, ast.IndexStmt):
        # (over a column the plan added before: each row holding its DEFAULT, or NULL)
        added = _added_values(conn, table, plan, stmt)
        rows = _rows_as(conn, table, added) if added else table
        probe = _index_probe(rows, stmt, stmt.idxname or "(unnamed)") if not stmt.unique \
            else _unique_probe(rows, stmt.indexParams or (), stmt.whereClause,
                               bool(stmt.nulls_not_distinct), "unique index")
        if written:  # (PostgreSQL 17+'s search_path of a build: asked of its own calls)
            _refuse_built_calls(conn, stmt)
        yield replace(probe, build=not written, casts=_casts(table, added) if added else "")
        return
    assert isinstance(stmt, ast.AlterTableStmt)
    added = _added_values(conn, table, plan, stmt)
    # PostgreSQL retypes columns before any other subcommand (its AT_PASS_ALTER_TYPE), and
    # checks the rows once all are done: every check of the statement meets the new values
    # (a change keeping every value, `integer` to `bigint`: today's values, asked nothing)
    kept: dict[str, str] = {}
    retyped: dict[str, str] = {}
    for cmd in stmt.cmds or ():
        if cmd.subtype == AlterTableType.AT_AlterColumnType \
                and isinstance(cmd.def_, ast.ColumnDef):
            why = kept_values(conn, table.name, str(cmd.name), cmd.def_)
            if why:
                kept[str(cmd.name)] = why
            else:
                retyped[str(cmd.name)] = _new_value(conn, str(cmd.name), cmd.def_)
    # SET EXPRESSION: a generated column's new values, as a retype's to its own type (a
    # stored one's written again and cast, its indexes and CHECKs asked over them; a virtual
    # one's evaluated for its NOT NULL only)
    expressed = {str(cmd.name): _expressed(conn, table, str(cmd.name), cmd.def_)
                 for cmd in stmt.cmds or () if cmd.subtype == AlterTableType.AT_SetExpression}
    retyped |= {column: value for column, (value, _) in expressed.items()}
    adding = _adding_asks_rows(sql, plan.plain_types)
    cast_before = _retyped_nulls(conn, plan.retyped, sql)
    for cmd in stmt.cmds or ():
        if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef) \
                and cmd.def_.colname in adding:
            if cmd.missing_ok and _has_column(conn, table.name, str(cmd.def_.colname)):
                continue  # IF NOT EXISTS of a column the table has: PostgreSQL skips it
            yield from _added_column_probes(conn, table, cmd.def_, plan)
        elif cmd.subtype == AlterTableType.AT_SetNotNull and str(cmd.name) in plan.filled:
            yield _filled_probe(conn, table, str(cmd.name), plan.filled[str(cmd.name)])
        elif cmd.subtype == AlterTableType.AT_SetNotNull and str(cmd.name) in retyped:
            yield replace(_null_probe(_rows_as(conn, table, retyped), str(cmd.name)),
                          casts=_casts(table, retyped))
        elif cmd.subtype == AlterTableType.AT_SetNotNull and str(cmd.name) in cast_before:
            # (an earlier retype cast it as it is: its NULLs and values, as cast)
            value = {str(cmd.name): _new_value(conn, str(cmd.name),
                                               cast_before[str(cmd.name)])}
            yield replace(_null_probe(_rows_as(conn, table, value), str(cmd.name)),
                          casts=_casts(table, value))
        elif cmd.subtype == AlterTableType.AT_SetNotNull and str(cmd.name) in plan.added \
                and not _has_column(conn, table.name, str(cmd.name)):
            yield _added_null_probe(
                conn, table, _added_definition(plan.added[str(cmd.name)], str(cmd.name)))
        elif cmd.subtype == AlterTableType.AT_SetNotNull:
            yield _null_probe(table, str(cmd.name))
        elif cmd.subtype == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_,
                                                                              ast.ColumnDef):
            if str(cmd.name) in kept:  # today's values: nothing over them is checked again
                yield Probe(f"{table.name}.{_ident(str(cmd.name))}", "", "", counts=False,
                            kept=kept[str(cmd.name)])
                continue
            yield _type_probe(conn, table, str(cmd.name), cmd.def_, retyped[str(cmd.name)])
        elif cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(
                cmd.def_, ast.Constraint) and cmd.def_.indexname:
            if cmd.def_.contype == ConstrType.CONSTR_PRIMARY:
                rewritten = {**added, **retyped}
                for column in _index_columns(conn, table, cmd.def_.indexname, plan.indexes):
                    yield _null_probe(_rows_as(conn, table, rewritten) if column in rewritten
                                      else table, column)
        elif cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_,
                                                                           ast.Constraint):
            if added:
                yield from _added_constraint_probes(conn, table, added, retyped, cmd.def_, plan)
            else:
                yield from _retyped_constraint_probes(conn, table, retyped, cmd.def_, plan)
        elif cmd.subtype == AlterTableType.AT_SetExpression and expressed[str(cmd.name)][1]:
            yield Probe(f"{table.name}.{_ident(str(cmd.name))}",
                        "has rows its new generation expression fails on",
                        f"SELECT count({retyped[str(cmd.name)]}) * 0 FROM {table.recursing}",
                        counts=True)
        elif cmd.subtype == AlterTableType.AT_AttachPartition \
                and isinstance(cmd.def_, ast.PartitionCmd):
            yield from attach_probes(conn, table, cmd.def_, plan)
        elif cmd.subtype == AlterTableType.AT_AlterConstraint \
                and isinstance(cmd.def_, ast.ATAlterConstraint):
            yield from _altered_constraint_probes(conn, table, retyped, cmd.def_, plan)
        elif cmd.subtype == AlterTableType.AT_ValidateConstraint:
            con = _validated(conn, table, str(cmd.name), plan.defined)
            if isinstance(con, Probe):
                yield con
                continue
            yield from _retyped_constraint_probes(conn, table, retyped, con, plan)
    if retyped:
        # (NULLs: of a column no SET NOT NULL of the statement asks, given a USING: a value
        # cast as it is is NULL only where it was)
        from pglast.stream import RawStream

        from dbsafe.guard.kept_types import casts_column_as_is

        using = {str(cmd.name) for cmd in stmt.cmds or ()
                 if cmd.subtype == AlterTableType.AT_AlterColumnType
                 and isinstance(cmd.def_, ast.ColumnDef) and cmd.def_.typeName
                 and not casts_column_as_is(cmd.def_.raw_default, str(cmd.name),
                                            str(RawStream()(cmd.def_.typeName)))}
        setting = {str(cmd.name) for cmd in stmt.cmds or ()
                   if cmd.subtype == AlterTableType.AT_SetNotNull}
        yield from _rechecked_probes(conn, table, retyped,
                                     frozenset((using | set(expressed)) - setting))


def _refuse_built_calls(conn: Any, index: ast.IndexStmt) -> None:
    """`_CannotTell` where PostgreSQL 17+ would build `index` calling a function outside
    pg_catalog (with search_path `pg_catalog, pg_temp`: `_restricted_failure`), over rows an
    earlier write of the plan leaves, whose query (the write's own calls) that search_path
    does not answer for."""
    from pglast import ast

    if conn.info.server_version < 170000:
        return
    for node in _nodes((index.indexParams, index.whereClause)):
        if not isinstance(node, ast.FuncCall):
            continue
        names = [str(getattr(n, "sval", "")) for n in node.funcname or ()]
        row = conn.execute("SELECT EXISTS (SELECT FROM pg_proc WHERE proname = %s "
                           "AND pronamespace = 'pg_catalog'::regnamespace)",
                           (names[-1],)).fetchone()
        if names[:-1] not in ([], ["pg_catalog"]) or not (row and row[0]):
            raise _CannotTell(f"the index calls {'.'.join(names)}(), which PostgreSQL 17+ "
                              "builds with search_path pg_catalog, pg_temp: not asked over "
                              "the rows an earlier write of the plan leaves")


def _index_columns(conn: Any, table: _Table, index: str, indexes: Mapping[str, str]
                   ) -> list[str]:
    """The columns of `index` (`ADD PRIMARY KEY USING INDEX index`, which sets them NOT NULL:
    PostgreSQL checks their rows, 23502), in the table's schema, or of the plan's CREATE INDEX
    making it (`indexes`)."""
    from pglast import ast, parse_sql

    row = conn.execute(
        "SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_class t JOIN pg_class c "
        "ON c.relnamespace = t.relnamespace AND c.relname = %s JOIN pg_index i "
        "ON i.indexrelid = c.oid AND i.indrelid = t.oid CROSS JOIN LATERAL unnest(i.indkey) "
        "WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = t.oid "
        "AND a.attnum = k.attnum WHERE t.oid = to_regclass(%s)",
        (index, table.name)).fetchone()
    if row and row[0]:
        return list(row[0])
    if index not in indexes:
        raise _CannotTell(f"index {index} does not exist on {table.name} now, so it is made "
                          "by the plan")
    made = parse_sql(indexes[index])[0].stmt
    assert isinstance(made, ast.IndexStmt)
    return [str(p.name) for p in made.indexParams or () if p.name]


def _parsed(sql: str) -> Any:
    """The statement `sql` holds, as pglast's tree."""
    from pglast import parse_sql

    return parse_sql(sql)[0].stmt


def _existing(conn: Any, stmt: Any) -> str:
    """The relation `CREATE [UNIQUE] INDEX IF NOT EXISTS ix` or `CREATE TABLE IF NOT EXISTS t
    PARTITION OF` names, where one of that name is in the schema it would be made in (an
    index: its table's; a table: its own, else the first of the search_path), which
    PostgreSQL then skips with a notice, checking nothing; "" otherwise."""
    from pglast import ast

    if isinstance(stmt, ast.IndexStmt) and stmt.if_not_exists and stmt.idxname:
        row = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_class t "
            "ON t.relnamespace = c.relnamespace WHERE t.oid = to_regclass(%s) "
            "AND c.relname = %s", (_table(conn, stmt.relation).name, stmt.idxname)).fetchone()
        return str(row[0]) if row else ""
    if isinstance(stmt, ast.CreateStmt) and stmt.if_not_exists and stmt.relation is not None:
        row = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relname = %s "
            "AND c.relnamespace = to_regnamespace(coalesce(%s, current_schema()))",
            (stmt.relation.relname, stmt.relation.schemaname)).fetchone()
        return str(row[0]) if row else ""
    return ""


def _expressed(conn: Any, table: _Table, column: str, expression: Any) -> tuple[str, bool]:
    """`ALTER COLUMN column SET EXPRESSION AS (expression)`: the value it gives a row, coerced
    to the column's type by assignment, and whether the column is stored (else virtual)."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod), attgenerated = 's' FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped",
        (table.name, column)).fetchone()
    if row is None:
        raise _CannotTell(f"column {column} does not exist on {table.name} now, so it is made "
                          "by the plan")
    cast = parse_sql(f"SELECT NULL::{row[0]}")[0].stmt
    assert isinstance(cast, ast.SelectStmt) and cast.targetList
    type_cast = cast.targetList[0].val
    assert isinstance(type_cast, ast.TypeCast) and type_cast.typeName is not None
    return _assigned(conn, f"({RawStream()(expression)})", type_cast.typeName,
                     str(row[0])), bool(row[1])


def _filled_probe(conn: Any, table: _Table, column: str, update: str) -> Probe:
    """`SET NOT NULL` of a column `update` (no WHERE, lint's `row_checks`) set to a constant
    not NULL in every row of the table and its children: none is NULL, unless a trigger, a
    rule or row security changes what it writes (or which rows), which cannot be told."""
    subject = f"{table.name}.{_ident(column)}"
    found = conn.execute(
        "WITH RECURSIVE tree(oid) AS (SELECT to_regclass(%s)::oid UNION "
        "SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid) "
        "SELECT count(tree.oid) = 0, "
        "EXISTS (SELECT FROM pg_trigger t JOIN tree ON t.tgrelid = tree.oid "
        "WHERE NOT t.tgisinternal), "
        "EXISTS (SELECT FROM pg_rewrite r JOIN tree ON r.ev_class = tree.oid), "
        "EXISTS (SELECT FROM pg_class c JOIN tree ON c.oid = tree.oid WHERE c.relrowsecurity) "
        "FROM tree", (table.name,)).fetchone()
    missing, trigger, rule, policy = found
    why = ("the table does not exist now, so it is made by the plan" if missing
           else "the table has a trigger, which may change what it writes" if trigger
           else "the table has a rule, which may change what it writes" if rule
           else "the table has row security, which may hide rows from it" if policy else "")
    if why:
        return Probe(subject, "", "", counts=False, unknown=f"`{shortened(update, 60)}` set "
                     f"every row first, but {why}")
    return Probe(subject, "", "", counts=False,
                 kept=f"`{shortened(update, 60)}` set every row to a value first")


def _retyped_constraint_probes(conn: Any, table: _Table, retyped: dict[str, str],
                               con: ast.Constraint, plan: PlanFacts) -> Iterator[Probe]:
    """A constraint added (or validated) by a statement that also retypes columns: asked of
    the rows as retyped (`_rows_as`); a foreign key over a retyped column cannot be told."""
    from pglast.enums import ConstrType

    if not retyped:
        yield from _constraint_probes(conn, table, con, plan)
    elif con.contype == ConstrType.CONSTR_FOREIGN:
        if any(k.sval in retyped for k in con.fk_attrs or ()):
            yield Probe(table.name, "", "", counts=False, unknown=(
                "its foreign key is checked over a column the same statement retypes, which "
                "the probe does not ask"))
        else:
            yield from _constraint_probes(conn, table, con, plan)
    else:
        for probe in _constraint_probes(conn, _rows_as(conn, table, retyped), con, plan):
            yield replace(probe, casts=_casts(table, retyped))


def _added_values(conn: Any, table: _Table, plan: PlanFacts, stmt: Any) -> dict[str, str]:
    """The columns an earlier `ADD COLUMN` of the plan added to `table` (`plan.added`, as
    lint hands on those a statement validates) or `stmt` itself adds, that the table lacks
    now, each as the value every row holds then: its DEFAULT (or generated value), a
    domain's DEFAULT, or NULL, cast to its type. One numbered from a sequence or whose DEFAULT
    calls a volatile function is left out: a query over it finds no such column, "cannot
    tell"."""
    from pglast import ast
    from pglast.enums import AlterTableType

    definitions = {column: _added_definition(add, column) for column, add in plan.added.items()}
    if isinstance(stmt, ast.AlterTableStmt):
        definitions |= {str(cmd.def_.colname): cmd.def_ for cmd in stmt.cmds or ()
                        if cmd.subtype == AlterTableType.AT_AddColumn
                        and isinstance(cmd.def_, ast.ColumnDef)}
    values = {}
    for column, definition in definitions.items():
        if definition.typeName is None or _numbered(definition) \
                or _has_column(conn, table.name, column):
            continue  # (one the table has: an IF NOT EXISTS PostgreSQL skips, today's rows)
        try:
            values[column] = _filled_value(conn, definition)
        except _CannotTell:
            continue
    return values


def _filled_value(conn: Any, definition: ast.ColumnDef) -> str:
    """The value a column added holds in each row: its DEFAULT or generated expression (a
    domain's DEFAULT), else NULL, cast to its type."""
    from pglast.stream import RawStream

    assert definition.typeName is not None
    filled = _filled_by(definition)
    if filled is None and _is_domain(conn, definition.typeName):
        filled = _domain_default(conn, definition.typeName)
    if filled is not None and filled.raw_expr is not None:
        _refuse_volatile(conn, filled.raw_expr, "its DEFAULT")
    value = "NULL" if filled is None or filled.raw_expr is None \
        else f"({RawStream()(filled.raw_expr)})"
    return f"CAST({value} AS {RawStream()(definition.typeName)})"


def _null_filled(value: str) -> bool:
    """Whether a column added holds NULL in every row, by its `_filled_value`: no DEFAULT,
    or `DEFAULT NULL`."""
    return value.startswith(("CAST(NULL AS ", "CAST((NULL) AS "))


def _added_constraint_probes(conn: Any, table: _Table, added: dict[str, str],
                             retyped: dict[str, str], con: ast.Constraint, plan: PlanFacts
                             ) -> Iterator[Probe]:
    """A constraint added over columns the plan added (`_added_values`): asked of the rows
    each holding the column's value. A foreign key over one NULL in every row (added without
    a DEFAULT) checks no row; over one holding its DEFAULT it cannot be told."""
    from pglast.enums import ConstrType

    if con.contype != ConstrType.CONSTR_FOREIGN:
        yield from _retyped_constraint_probes(conn, table, {**added, **retyped}, con, plan)
        return
    keys = [str(k.sval) for k in con.fk_attrs or ()]
    filled = [key for key in keys if key in added]
    if not filled:
        yield from _retyped_constraint_probes(conn, table, retyped, con, plan)
        return
    nulls = [key for key in filled if _null_filled(added[key])]
    # (MATCH SIMPLE checks no row with a NULL key column; MATCH FULL, none all NULL)
    if nulls and (con.fk_matchtype != "f" or len(nulls) == len(keys)) \
            and not con.skip_validation:
        yield Probe(f"{table.name} ({', '.join(_ident(k) for k in keys)})", "", "",
                    counts=False, kept=(
                        f"{nulls[0]}, added without a DEFAULT, is NULL in every row: its "
                        "foreign key checks no row"))
    elif not con.skip_validation:
        yield Probe(table.name, "", "", counts=False, unknown=(
            f"the foreign key over {filled[0]}, added, is checked over its DEFAULT in each "
            "row, which the probe does not ask"))


def _altered_constraint_probes(conn: Any, table: _Table, retyped: dict[str, str],
                               change: ast.ATAlterConstraint, plan: PlanFacts
                               ) -> Iterator[Probe]:
    """`ALTER CONSTRAINT c ENFORCED` of a foreign key not enforced now: validated, as
    `VALIDATE CONSTRAINT` (23503); `ALTER CONSTRAINT c INHERIT` of a NOT NULL that is `NO
    INHERIT` now: the inheritance children's NULLs (23502). Either already so: nothing is
    checked (PostgreSQL 18)."""
    name = str(change.conname)
    row = conn.execute(
        "SELECT contype::text, conenforced, connoinherit, (SELECT array_agg(a.attname::text) "
        "FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) "
        "FROM pg_constraint c WHERE conrelid = to_regclass(%s) AND conname = %s",
        (table.name, name)).fetchone()
    if row is None:
        raise _CannotTell(f"constraint {name} does not exist on {table.name} now, so it is "
                          "made by the plan")
    kind, enforced, noinherit, columns = row
    if change.alterEnforceability and change.is_enforced and kind == "f" and not enforced:
        con = _defined(conn, table.name, name)
        con.skip_validation = False  # (NOT ENFORCED, NOT VALID: PostgreSQL validates it)
        yield from _retyped_constraint_probes(conn, table, retyped, con, plan)
    if change.alterInheritability and not change.noinherit and kind == "n" and noinherit:
        from dbsafe.schema.ddl import literal

        for column in columns or ():
            where = f"tableoid <> {literal(table.name)}::regclass AND {_ident(column)} IS NULL"
            yield Probe(f"{table.name}.{_ident(column)}", "holds NULLs in its children",
                        _count(f"SELECT FROM {table.name} WHERE {where}"), counts=True,
                        find=f"SELECT * FROM {table.name} WHERE {where}")


def _retyped_otherwise(conn: Any, retyped: Sequence[Sequence[str]], checking: str) -> str:
    """Why the values an earlier `ALTER COLUMN ... TYPE` of the plan leaves are not today's
    (`retyped`: [why, statement, column] each, lint's): the first not keeping every value;
    "" when each keeps them (`integer` to `bigint`: the rows are asked as they are), or
    where `checking` only sets it NOT NULL after one cast as it is (`_retyped_nulls`)."""
    from pglast import ast, parse_sql
    from pglast.enums import AlterTableType

    from dbsafe.guard.kept_types import kept_values

    nulls = _retyped_nulls(conn, retyped, checking)
    for why, sql, column in retyped:
        if column in nulls:
            continue
        stmt = parse_sql(sql)[0].stmt
        assert isinstance(stmt, ast.AlterTableStmt)
        table = _table(conn, stmt.relation).name
        if not all(kept_values(conn, table, column, cmd.def_) for cmd in stmt.cmds or ()
                   if cmd.subtype == AlterTableType.AT_AlterColumnType and cmd.name == column
                   and isinstance(cmd.def_, ast.ColumnDef)):
            return why
    return ""


def _retyped_nulls(conn: Any, retyped: Sequence[Sequence[str]], checking: str
                   ) -> dict[str, ast.ColumnDef]:
    """The columns `checking` (an `ALTER TABLE` of nothing but `SET NOT NULL`s) sets NOT NULL
    that one earlier `ALTER COLUMN c TYPE t` of the plan cast as they are (no `USING`, `USING
    c`, `USING c::t`), and not keeping every value (those are asked as they are): column ->
    that retype's definition. A cast gives NULL of NULL and a value of a value (where it
    fails, the retype's own check says so), so the NOT NULL is asked of the rows as cast
    (bitcart's `users.fido2_devices` `json[]` to `jsonb[]`, then `SET NOT NULL`: cannot
    tell, where its NULLs refused it, 23502; task 572)."""
    from pglast import ast, parse_sql
    from pglast.enums import AlterTableType
    from pglast.stream import RawStream

    from dbsafe.guard.kept_types import casts_column_as_is, kept_values

    stmt = parse_sql(checking)[0].stmt
    if not isinstance(stmt, ast.AlterTableStmt) or not stmt.cmds or any(
            cmd.subtype != AlterTableType.AT_SetNotNull for cmd in stmt.cmds):
        return {}
    setting = {str(cmd.name) for cmd in stmt.cmds}
    found: dict[str, ast.ColumnDef] = {}
    for _, sql, column in retyped:
        if column not in setting or [c for _, _, c in retyped].count(column) != 1:
            continue
        retyping = parse_sql(sql)[0].stmt
        assert isinstance(retyping, ast.AlterTableStmt)
        table = _table(conn, retyping.relation).name
        definition = next((cmd.def_ for cmd in retyping.cmds or ()
                           if cmd.subtype == AlterTableType.AT_AlterColumnType
                           and cmd.name == column and isinstance(cmd.def_, ast.ColumnDef)),
                          None)
        if definition is not None and definition.typeName is not None \
                and casts_column_as_is(definition.raw_default, column,
                                       str(RawStream()(definition.typeName))) \
                and not kept_values(conn, table, column, definition):
            found[column] = definition
    return found


def _adding_asks_rows(sql: str, plain_types: frozenset[str]) -> set[str]:
    """The columns `sql` adds that rows may refuse (`lint.row_checks.adding_asks_rows`)."""
    from dbsafe.lint.row_checks import adding_asks_rows
    from dbsafe.lint.statement import parse_statement

    return {a.column.name for a in parse_statement(sql).actions
            if a.subtype == "AddColumn" and a.column is not None
            and adding_asks_rows(a.column, plain_types)}


def _added_column_probes(conn: Any, table: _Table, definition: ast.ColumnDef,
                         plan: PlanFacts) -> Iterator[Probe]:
    """`ADD COLUMN c ... NOT NULL` (or a primary key): its rows' NULLs, as for a SET NOT NULL
    of it; a unique or primary key: its rows' values (each the DEFAULT or generated value),
    grouped; a stored generated column: its expression over each row, which a value may fail
    (`(num::int)` over `'12a'`: 22P02), coerced to its type (22001 past a varchar's length)."""
    from pglast import ast
    from pglast.enums import ConstrType
    from pglast.stream import RawStream

    column = str(definition.colname)
    kinds = {c.contype: c for c in definition.constraints or () if isinstance(c, ast.Constraint)}
    if ConstrType.CONSTR_NOTNULL in kinds or ConstrType.CONSTR_PRIMARY in kinds:
        yield _added_null_probe(conn, table, definition)
    unique = kinds.get(ConstrType.CONSTR_PRIMARY) or kinds.get(ConstrType.CONSTR_UNIQUE)
    filled = _filled_by(definition)
    stored = kinds.get(ConstrType.CONSTR_GENERATED)
    if stored is not None and stored.generated_kind == "s" and stored.raw_expr is not None \
            and definition.typeName is not None:
        # (each row's value computed and coerced to the type, a domain's checks too)
        value = _assigned(conn, f"({RawStream()(stored.raw_expr)})", definition.typeName,
                          str(RawStream()(definition.typeName)))
        yield Probe(f"{table.name}.{_ident(column)}", "has rows its generation expression "
                    "fails on", f"SELECT count({value}) * 0 FROM {table.recursing}",
                    counts=True)
    else:
        yield from _domain_probes(conn, table, definition, filled, plan)
    yield from _added_checked_probes(conn, table, definition)
    value = ""
    if unique is not None and filled is not None and filled.raw_expr is not None:
        _refuse_volatile(conn, filled.raw_expr, "its DEFAULT")
        value = f"({RawStream()(filled.raw_expr)})"
    elif unique is not None and unique.nulls_not_distinct and definition.typeName is not None \
            and not _numbered(definition):  # (NULL in every row: two collide)
        value = f"CAST(NULL AS {RawStream()(definition.typeName)})"
    if unique is not None and value:
        rows = _rows_as(conn, table, {column: value})
        yield _unique_probe(rows, (ast.IndexElem(name=column),), None,
                            bool(unique.nulls_not_distinct),
                            "primary key" if unique.contype == ConstrType.CONSTR_PRIMARY
                            else "unique key")


def _domain_probes(conn: Any, table: _Table, definition: ast.ColumnDef,
                   filled: ast.Constraint | None, plan: PlanFacts) -> Iterator[Probe]:
    """A column added of a domain with a CHECK or NOT NULL (or an array of one): each row's
    value (its DEFAULT, else the domain's, else NULL) cast to the domain, as PostgreSQL
    checks it over a table with rows (`ADD COLUMN rank positive_int DEFAULT 0`: 23514,
    without NOT NULL too)."""
    from pglast.stream import RawStream

    type_name = definition.typeName
    if type_name is None or _numbered(definition):
        return
    target = str(RawStream()(type_name))
    oid = conn.execute("SELECT to_regtype(%s)::oid", (target,)).fetchone()[0]
    if oid is None and str((type_name.names or ())[-1].sval) in plan.plain_types:
        return  # an enum the plan makes: no CHECK of its own
    if oid is None:  # (a domain the plan makes may have a CHECK)
        raise _CannotTell(f"type {target} does not exist now, so it is made by the plan")
    if not _checks_values(conn, oid):  # (nor does a type no domain)
        return
    filled = filled or _domain_default(conn, type_name)
    value = "NULL"
    if filled is not None and filled.raw_expr is not None:
        _refuse_volatile(conn, filled.raw_expr, "its DEFAULT")
        value = f"({RawStream()(filled.raw_expr)})"
    # (count(...) casts every row; times 0: no row refuses unless one fails)
    yield Probe(f"{table.name}.{_ident(str(definition.colname))}",
                f"would hold {shortened(value, 40)} in each row, which {shortened(target, 40)} "
                "refuses", f"SELECT count(CAST({value} AS {target})) * 0 FROM {table.recursing}",
                counts=True)


def _checks_values(conn: Any, oid: int) -> bool:
    """Whether a cast to the type `oid` checks its values: a domain on the way has a CHECK or
    NOT NULL, or the elements of an array under them are of such a domain (each element is
    cast to it: `positive_int[]`, and a domain over one, `CREATE DOMAIN d AS positive_int[]`,
    whose own chain ends at the array)."""
    from dbsafe.guard.kept_types import domain_chain

    chain = domain_chain(conn, oid)
    if chain.constrained:
        return True
    element = conn.execute("SELECT typelem FROM pg_type WHERE oid = %s AND typcategory = 'A' "
                           "AND typlen = -1 AND typelem <> 0", (chain.base,)).fetchone()
    return element is not None and _checks_values(conn, element[0])


def _added_checked_probes(conn: Any, table: _Table, definition: ast.ColumnDef
                          ) -> Iterator[Probe]:
    """A CHECK of a column added (`ADD COLUMN c int DEFAULT 0 CHECK (c > 0)`) over the rows,
    each holding its DEFAULT (or generated value, or NULL) cast to its type: a domain refusing
    that value refuses the statement once (`_domain_probes`), the CHECK is then not asked. A
    FOREIGN KEY of one NULL in every row (no DEFAULT) checks no row; of one holding its
    DEFAULT, it cannot be told. One NOT VALID or NOT ENFORCED asks nothing."""
    from pglast import ast
    from pglast.enums import ConstrType

    from dbsafe.lint.row_checks import PlanFacts, adding_validates

    column = str(definition.colname)
    constraints = [c for c in definition.constraints or () if isinstance(c, ast.Constraint)]
    checked = [c for i, c in enumerate(constraints)
               if adding_validates(getattr(c.contype, "name", ""), bool(c.skip_validation),
                                   constraints[i + 1].contype if i + 1 < len(constraints)
                                   else None)]
    type_name = definition.typeName
    if not checked or type_name is None:
        return
    if _numbered(definition):
        raise _CannotTell(f"{column} is numbered from a sequence: its CHECK is not asked")
    typed = _filled_value(conn, definition)
    rows = _rows_as(conn, table, {column: typed})
    # (PostgreSQL casts the value to the column's type before any CHECK: where a domain
    # refuses it, that is the one error, said by `_domain_probes`, and the CHECK untold)
    casts = f"SELECT count({typed}) FROM {table.recursing}"
    for con in checked:
        if con.contype == ConstrType.CONSTR_CHECK:
            # (a CHECK reads its row alone: nothing the plan did before matters to it)
            for probe in _constraint_probes(conn, rows, con, PlanFacts()):
                yield replace(probe, casts=casts)
        elif _null_filled(typed):
            # (a column's own REFERENCES is over it alone: NULL in every row, no row checked)
            yield Probe(table.name, "", "", counts=False, kept=(
                f"{column}, added without a DEFAULT, is NULL in every row: its foreign key "
                "checks no row"))
        else:
            yield Probe(table.name, "", "", counts=False, unknown=(
                f"the foreign key of {column}, added, is checked over its DEFAULT in each row, "
                "which the probe does not ask"))


def _constraint_probes(conn: Any, table: _Table, con: ast.Constraint, plan: PlanFacts
                       ) -> Iterator[Probe]:
    """What adding (or validating) `con` asks of `table`'s rows; `plan`: a foreign key's
    referenced table the plan changes the rows of first cannot be told."""
    from pglast import ast
    from pglast.enums import ConstrType
    from pglast.stream import RawStream

    from dbsafe.lint.statement import qualified, same_relation

    if con.skip_validation:  # NOT VALID (NOT ENFORCED ones lint does not hand on)
        return
    if con.contype == ConstrType.CONSTR_CHECK and con.raw_expr is not None:
        check = str(RawStream()(con.raw_expr))
        rows = table.own if con.is_no_inherit else table.recursing
        # (IS FALSE, not NOT: the planner splits NOT (a OR b) into quals run cheapest first,
        # where PostgreSQL evaluates the CHECK as written: `NOT f(c) OR c::int > 0`)
        yield Probe(table.name, f"fails CHECK ({shortened(check, 60)})",
                    _count(f"SELECT FROM {rows} WHERE ({check}) IS FALSE"), counts=True,
                    find=f"SELECT * FROM {rows} WHERE ({check}) IS FALSE")
    elif con.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and con.keys:
        keys = tuple(ast.IndexElem(name=k.sval) for k in con.keys)
        if con.contype == ConstrType.CONSTR_PRIMARY:
            for key in con.keys:
                yield _null_probe(table, key.sval)
        yield _unique_probe(table, keys, None, bool(con.nulls_not_distinct),
                            "primary key" if con.contype == ConstrType.CONSTR_PRIMARY
                            else "unique key")
    elif con.contype == ConstrType.CONSTR_NOTNULL and con.keys:  # PostgreSQL 18's
        for key in con.keys:
            yield _null_probe(table, key.sval, own=bool(con.is_no_inherit))
    elif con.contype == ConstrType.CONSTR_EXCLUSION and con.exclusions:
        yield _exclusion_probe(table, con)
    elif con.contype == ConstrType.CONSTR_FOREIGN:
        pktable: Any = con.pktable
        referenced = qualified(pktable.catalogname, pktable.schemaname, pktable.relname)
        for name, why in plan.changed.items():  # as lint names them: unquoted
            if same_relation(name, referenced):
                raise _CannotTell(f"{why}: the rows it references are not today's")
        yield _foreign_probe(conn, table, con)


def _null_probe(table: _Table, column: str, *, own: bool = False) -> Probe:
    name = _ident(column)
    rows = table.own if own else table.recursing
    return Probe(f"{table.name}.{name}", "holds NULLs",
                 _count(f"SELECT FROM {rows} WHERE {name} IS NULL"), counts=True,
                 find=f"SELECT * FROM {rows} WHERE {name} IS NULL")


def _added_definition(add_sql: str, column: str) -> ast.ColumnDef:
    """The definition of `column` in the `ADD COLUMN` statement `add_sql`."""
    from pglast import ast, parse_sql

    stmt = parse_sql(add_sql)[0].stmt
    assert isinstance(stmt, ast.AlterTableStmt)
    (definition,) = [c.def_ for c in stmt.cmds or () if isinstance(c.def_, ast.ColumnDef)
                     and c.def_.colname == column]
    return definition


def _added_null_probe(conn: Any, table: _Table, definition: ast.ColumnDef) -> Probe:
    """SET NOT NULL of a column `definition` added: its rows hold its DEFAULT (or generated
    value) each, or NULL without one; an identity fills every row."""
    from pglast.stream import RawStream

    column = str(definition.colname)
    filled = _filled_by(definition)
    name, rows = f"{table.name}.{_ident(column)}", table.recursing
    if _numbered(definition):
        return Probe(name, "holds NULLs", "SELECT 0", counts=True)  # nextval() in every row
    if definition.typeName is not None and _is_domain(conn, definition.typeName):
        domain_default = _domain_default(conn, definition.typeName)
        filled = filled or domain_default  # the domain's DEFAULT fills the rows
    if filled is None or filled.raw_expr is None:
        return Probe(name, "holds NULLs (added without a DEFAULT)",
                     _count(f"SELECT FROM {rows}"), counts=True, find=f"SELECT * FROM {rows}",
                     every_row=table.name)
    _refuse_volatile(conn, filled.raw_expr, "its DEFAULT")
    value = str(RawStream()(filled.raw_expr))
    return Probe(name, f"holds NULLs (added with {shortened(value, 60)})",
                 _count(f"SELECT FROM {rows} WHERE ({value}) IS NULL"), counts=True,
                 find=f"SELECT * FROM {rows} WHERE ({value}) IS NULL")


# String and bit types whose cast by assignment (an ALTER's) refuses a value too long, where
# an explicit CAST cuts it: their length function, called with isExplicit false.
_LENGTH_CHECKED = {"varchar": 4, "bpchar": 4, "bit": 0, "varbit": 0}  # typmod = n + this


def _new_value(conn: Any, column: str, definition: ast.ColumnDef) -> str:
    """The value `ALTER COLUMN column TYPE t [USING e]` gives a row: `e`, or the column, coerced
    to `t` by assignment, in the column's new collation (its `COLLATE`, else `t`'s: what the
    indexes and CHECKs over it compare and `lower()` it with, where a cast keeps the old
    one)."""
    from pglast.stream import RawStream

    assert definition.typeName is not None
    using = definition.raw_default
    if using is not None:
        _refuse_volatile(conn, using, "its USING expression")
    value = f"({RawStream()(using)})" if using is not None else _ident(column)
    target = str(RawStream()(definition.typeName))
    assigned = _assigned(conn, value, definition.typeName, target)
    if definition.collClause is not None:
        return f"{assigned} COLLATE {RawStream()(definition.collClause).removeprefix('COLLATE ')}"
    collation = conn.execute(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.collname) FROM pg_type t "
        "JOIN pg_collation c ON c.oid = t.typcollation JOIN pg_namespace n "
        "ON n.oid = c.collnamespace WHERE t.oid = to_regtype(%s)", (target,)).fetchone()
    return f"{assigned} COLLATE {collation[0]}" if collation else assigned


def _type_probe(conn: Any, table: _Table, column: str, definition: ast.ColumnDef,
                value: str) -> Probe:
    """`ALTER COLUMN column TYPE t [USING e]`: every row's `value` (`_new_value`)."""
    from pglast.stream import RawStream

    from dbsafe.schema.ddl import literal

    assert definition.typeName is not None
    target = str(RawStream()(definition.typeName))
    name = _ident(column)
    using = definition.raw_default
    rows = table.recursing
    which = find = ""
    if _plain_text_cast(conn, table.name, column, using, target):
        refusing = f"{name} IS NOT NULL AND NOT pg_input_is_valid({name}, {literal(target)})"
        keys = _primary_key(conn, table.name)
        key = f"concat_ws(', ', {', '.join(f'{k}::text' for k in keys)})" if keys else "NULL"
        which = (f"SELECT count(*), min(key) FILTER (WHERE n = 1) FROM (SELECT {key} AS key, "
                 f"row_number() OVER () AS n FROM {rows} WHERE {refusing} LIMIT {COUNT_CAP}) "
                 "AS refusing")
        find = f"SELECT * FROM {rows} WHERE {refusing}"
    # (count(...) casts every row; times 0: no row refuses unless one fails)
    return Probe(f"{table.name}.{name}",
                 f"holds values that do not cast to {shortened(target, 40)}",
                 f"SELECT count({value}) * 0 FROM {rows}", counts=True, find=find, which=which)


def _rechecked_probes(conn: Any, table: _Table, retyped: dict[str, str],
                      nulls: frozenset[str] = frozenset()) -> Iterator[Probe]:
    """After `ALTER COLUMN ... TYPE` PostgreSQL rebuilds the table's indexes over the new
    values and checks its CHECK constraints and foreign keys again: a unique index (or key),
    an exclusion constraint and a CHECK over a retyped column asked of the rows as retyped
    (`numeric(10,2)` to `numeric(4,0)` rounds 1.2 and 1.4 both to 1), an index's expressions
    and predicate evaluated over them (`(c::int)` over a column retyped to text); a foreign
    key over one cannot be told. A retyped column NOT NULL is checked as
    the rows are written again: a `USING` giving NULL (`CASE ... END` without an ELSE)
    refuses (23502; `nulls`: the columns retyped with a USING whose NULLs no SET NOT NULL of
    the statement asks already). It
    retypes the inheritance children's columns too (recursing: `ALTER TABLE ONLY` of a
    parent's column is refused), rebuilding their own indexes and checking their own
    CHECKs and NOT NULLs: asked of each child's rows."""
    yield from _rebuilt_probes(conn, table, retyped, nulls, inherited=True)
    if table.recursing.startswith("ONLY "):
        return
    children = conn.execute(
        "WITH RECURSIVE down(oid) AS (SELECT inhrelid FROM pg_inherits "
        "WHERE inhparent = to_regclass(%s) UNION SELECT i.inhrelid FROM pg_inherits i "
        "JOIN down ON i.inhparent = down.oid) "
        "SELECT c.oid::regclass::text, c.relkind FROM down JOIN pg_class c USING (oid) "
        "ORDER BY 1", (table.name,)).fetchall()
    for name, relkind in children:
        child = _Table(name, name, name if relkind == "p" else f"ONLY {name}")
        yield from _rebuilt_probes(conn, child, retyped, nulls, inherited=False)


def _rebuilt_probes(conn: Any, table: _Table, retyped: dict[str, str],
                    nulls: frozenset[str], *, inherited: bool) -> Iterator[Probe]:
    """`_rechecked_probes` of one table; not `inherited`: of a child, only what is its own
    (a CHECK, index or NOT NULL its parent's, asked over the parent's rows, is not asked
    again)."""
    from pglast import ast, parse_sql

    from dbsafe.lint.row_checks import PlanFacts

    rows = _rows_as(conn, table, retyped)
    casts = _casts(table, retyped)
    own_not_null = "" if inherited else (
        " AND NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_attribute p ON p.attrelid = "
        "i.inhparent AND p.attname = a.attname AND p.attnotnull WHERE i.inhrelid = a.attrelid)")
    for (column,) in conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
            "AND a.attname = ANY(%s) AND a.attnotnull AND NOT a.attisdropped" + own_not_null
            + " ORDER BY a.attnum", (table.name, sorted(nulls))).fetchall():
        probe = _null_probe(rows, str(column))
        yield replace(probe, what=f"{probe.what} once cast", casts=casts)
    own_index = "" if inherited else \
        " AND NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = i.indexrelid)"
    own_constraint = "" if inherited else " AND c.coninhcount = 0"
    found = conn.execute(
        "WITH deps AS (SELECT DISTINCT d.classid, d.objid FROM pg_depend d "
        "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(%s) "
        "AND a.attname = ANY(%s)) "
        # (an exclusion constraint by its index, which depends on the columns: its own
        # definition, with its name)
        "SELECT CASE WHEN i.indisunique THEN 'u' WHEN i.indisexclusion THEN 'x' ELSE 'i' END, "
        "coalesce(x.conname::text, i.indexrelid::regclass::text), "
        "coalesce(pg_get_constraintdef(x.oid), pg_get_indexdef(i.indexrelid)) FROM deps "
        "JOIN pg_index i ON deps.classid = 'pg_class'::regclass AND i.indexrelid = deps.objid "
        "LEFT JOIN pg_constraint x ON i.indisexclusion AND x.conindid = i.indexrelid "
        "AND x.contype = 'x' WHERE (i.indisunique OR i.indisexclusion "
        "OR i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)" + own_index
        + " UNION ALL SELECT c.contype::text, c.conname, CASE WHEN c.contype IN ('u', 'p') "
        "THEN pg_get_indexdef(c.conindid) ELSE pg_get_constraintdef(c.oid) END FROM deps "
        "JOIN pg_constraint c ON deps.classid = 'pg_constraint'::regclass "
        "AND c.oid = deps.objid WHERE c.convalidated AND c.contype IN ('u', 'p', 'c', 'f')"
        + own_constraint + " ORDER BY 1, 2", (table.name, list(retyped))).fetchall()
    for kind, name, definition in found:
        if kind in ("u", "p", "i"):
            index = parse_sql(definition)[0].stmt
            assert isinstance(index, ast.IndexStmt)
            if kind == "i":
                probe = _index_probe(rows, index, name)
                yield replace(probe, what=f"{probe.what} once cast", casts=casts)
                continue
            probe = _unique_probe(rows, index.indexParams or (), index.whereClause,
                                  bool(index.nulls_not_distinct), "unique index")
            yield replace(probe, what=f"has values that collide in {name} once cast",
                          casts=casts)
        elif kind in ("c", "x"):
            con = _parsed_constraint(table.name, definition)
            con.conname = name
            for probe in _constraint_probes(conn, rows, con, PlanFacts()):
                yield replace(probe, what=f"{probe.what} once cast", casts=casts)
        else:
            yield Probe(table.name, "", "", counts=False, unknown=(
                f"foreign key {name} is checked again over the new values, which the probe "
                "does not ask"))


def _index_probe(table: _Table, index: ast.IndexStmt, name: str) -> Probe:
    """A (non-unique) index's expressions and predicate, evaluated over `table`'s own rows as
    PostgreSQL's rebuild evaluates them: a value failing one refuses."""
    from pglast.stream import RawStream

    evaluated = [f"count(({RawStream()(p.expr)}))" for p in index.indexParams or () if p.expr]
    # (IS TRUE: one qual, its ANDs evaluated as written, as the index build does)
    where = f" WHERE ({RawStream()(index.whereClause)}) IS TRUE" if index.whereClause else ""
    # (least(0, ...) is 0: no row refuses it unless an expression fails on one)
    return Probe(table.name, f"has values index {name} fails on",
                 f"SELECT least(0, count(*), {', '.join(evaluated) or '0'}) FROM "
                 f"{table.own}{where}", counts=True)


def _casts(table: _Table, retyped: dict[str, str]) -> str:
    """A query casting the rows' values of the retyped columns alone (`Probe.casts`)."""
    return f"SELECT {' + '.join(f'count({v})' for v in retyped.values())} " \
           f"FROM {table.recursing}"


def _rows_as(conn: Any, table: _Table, values: dict[str, str]) -> _Table:
    """`table` with `values` (column -> an expression over its row) in place of those
    columns, or added: the rows PostgreSQL checks after it rewrote them."""
    columns = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", (table.name,)).fetchall()
    names = [str(c[0]) for c in columns]
    listed = ", ".join([f"{values[n]} AS {_ident(n)}" if n in values else _ident(n)
                        for n in names]
                       + [f"{v} AS {_ident(c)}" for c, v in values.items() if c not in names])
    return _Table(table.name, f"(SELECT {listed} FROM {table.recursing}) AS rewritten",
                  f"(SELECT {listed} FROM {table.own}) AS rewritten")


def _assigned(conn: Any, value: str, type_name: ast.TypeName, target: str) -> str:
    """`value` coerced to `target` as ALTER COLUMN TYPE coerces it (by assignment): a string
    or bit string too long for its length refuses, where a CAST cuts it; through a domain (over
    domains: the outermost length, as PostgreSQL's `getBaseTypeAndTypmod`) and an array's
    elements, each."""
    oid = conn.execute("SELECT to_regtype(%s)::oid", (target,)).fetchone()[0]
    if oid is None:
        raise _CannotTell(f"type {target} does not exist now, so it is made by the plan")
    typmod, array = -1, False
    while True:
        typtype, base, domain_typmod, element, catalog, name = conn.execute(
            "SELECT typtype, typbasetype, typtypmod, CASE WHEN typcategory = 'A' AND typlen = -1 "
            "THEN typelem ELSE 0 END, typnamespace = 'pg_catalog'::regnamespace, typname "
            "FROM pg_type WHERE oid = %s", (oid,)).fetchone()
        if typtype == "d":
            typmod = int(domain_typmod) if typmod < 0 else typmod
            oid = base
        elif element and not array:
            oid, array = element, True
        else:
            break
    if not catalog or name not in _LENGTH_CHECKED:
        return f"CAST({value} AS {target})"
    sizes = [getattr(m.val, "ival", None) for m in type_name.typmods or ()]
    if typmod < 0 and sizes and sizes[0] is not None:  # written: `varchar(10)`, `varchar(10)[]`
        typmod = sizes[0] + _LENGTH_CHECKED[name]
    if typmod < 0:
        return f"CAST({value} AS {target})"
    if not array:
        return f'CAST(pg_catalog."{name}"(CAST({value} AS pg_catalog."{name}"), {typmod}, ' \
               f"false) AS {target})"
    # each element checked (the scalar subquery fails on one too long), then cast
    checked = f'(SELECT count(pg_catalog."{name}"(CAST(e AS pg_catalog."{name}"), {typmod}, ' \
              f"false)) FROM unnest({value}) AS e)"
    return f"CAST(CASE WHEN {checked} >= 0 THEN {value} END AS {target})"


def _plain_text_cast(conn: Any, table: str, column: str, using: Any, target: str) -> bool:
    """Whether the values are a text column's cast as they are (no USING, or `USING c::t`),
    so that `pg_input_is_valid` (PostgreSQL 16+) says which rows refuse."""
    from dbsafe.guard.kept_types import casts_column_as_is

    if conn.info.server_version < 160000 or not casts_column_as_is(using, column, target):
        return False
    row = conn.execute(
        "SELECT atttypid IN ('text'::regtype, 'varchar'::regtype) FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped",
        (table, column)).fetchone()
    return bool(row and row[0])


def _refuse_volatile(conn: Any, expression: Any, what: str) -> None:
    """`_CannotTell` when `expression` calls a volatile function: the values it gives at the
    upgrade are not those it gives the probe (nor may the probe run it)."""
    names = sorted(set(_calls(expression(skip_none=True))))
    for name in names:
        schema, _, function = name.rpartition(".")
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM pg_proc WHERE proname = %s AND provolatile = 'v' "
            "AND (%s = '' OR pronamespace = to_regnamespace(%s)))",
            (function, schema, schema or "pg_catalog")).fetchone()
        if row and row[0]:
            raise _CannotTell(f"{what} calls {name}(), a volatile function: its values at the "
                              "upgrade are not the probe's")


def _calls_redefined(conn: Any, probe: Probe, redefined: frozenset[str]) -> str:
    """The first function of `redefined` (last names) `probe`'s query calls, itself or
    through the functions it calls (their SQL and PL/pgSQL bodies, as the database holds
    them), or ""."""
    from pglast import parse_sql

    if not redefined or not probe.query:
        return ""
    stmt: Any = parse_sql(probe.query)[0].stmt
    return _reaches(conn, sorted(set(_calls(stmt(skip_none=True)))), redefined, set())


def _reaches(conn: Any, names: Sequence[str], redefined: frozenset[str], seen: set[int]
             ) -> str:
    """The first of `redefined` the functions `names` are, or call (`_calls_redefined`)."""
    from dbsafe.lint.body_writes import function_writes

    for name in names:
        schema, _, bare = name.rpartition(".")
        if bare in redefined:
            return bare
        for oid, language, definition in conn.execute(
                "SELECT p.oid, l.lanname, pg_get_functiondef(p.oid) FROM pg_proc p "
                "JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = %s "
                "AND p.prokind = 'f' AND l.lanname IN ('sql', 'plpgsql') "
                "AND p.pronamespace = coalesce(to_regnamespace(%s), p.pronamespace) "
                "ORDER BY 1", (bare, schema or None)).fetchall():
            if oid in seen:
                continue
            seen.add(oid)
            called = function_writes(str(language), str(definition)).functions
            found = _reaches(conn, sorted(called), redefined, seen)
            if found:
                return found
    return ""


def _calls(tree: Any) -> Iterator[str]:
    """Each function a (pglast, serialized) expression calls, as named."""
    if isinstance(tree, dict):
        if tree.get("@") == "FuncCall":
            yield ".".join(str(n.get("sval")) for n in tree.get("funcname") or ())
        for value in tree.values():
            yield from _calls(value)
    elif isinstance(tree, (list, tuple)):
        for value in tree:
            yield from _calls(value)


def _filled_by(definition: ast.ColumnDef) -> ast.Constraint | None:
    """What fills the rows of a column added: its generated expression or its DEFAULT."""
    from pglast import ast
    from pglast.enums import ConstrType

    kinds = {c.contype: c for c in definition.constraints or () if isinstance(c, ast.Constraint)}
    return kinds.get(ConstrType.CONSTR_GENERATED) or kinds.get(ConstrType.CONSTR_DEFAULT)


def _numbered(definition: ast.ColumnDef) -> bool:
    """Whether a sequence numbers every row of a column added: an identity, or a serial
    (its type written unqualified, as PostgreSQL reads one)."""
    from pglast import ast
    from pglast.enums import ConstrType

    from dbsafe.pg.types import SERIAL_TYPES

    names = [n.sval for n in definition.typeName.names or ()] if definition.typeName else []
    return (len(names) == 1 and names[0] in SERIAL_TYPES) or any(
        isinstance(c, ast.Constraint) and c.contype == ConstrType.CONSTR_IDENTITY
        for c in definition.constraints or ())


def _domain_default(conn: Any, type_name: ast.TypeName) -> ast.Constraint | None:
    """A domain's DEFAULT, which a column of it added without one of its own gets (None: it
    has none)."""
    from pglast import ast, parse_sql
    from pglast.enums import ConstrType
    from pglast.stream import RawStream

    from dbsafe.guard.kept_types import domain_chain

    oid = conn.execute("SELECT to_regtype(%s)::oid", (str(RawStream()(type_name)),)).fetchone()[0]
    if oid is None:
        return None
    chain = domain_chain(conn, oid)
    if chain.default is None:
        return None
    select = parse_sql(f"SELECT {chain.default}")[0].stmt
    assert isinstance(select, ast.SelectStmt) and select.targetList
    return ast.Constraint(contype=ConstrType.CONSTR_DEFAULT, raw_expr=select.targetList[0].val)


def _is_domain(conn: Any, type_name: ast.TypeName) -> bool:
    from pglast.stream import RawStream

    row = conn.execute("SELECT typtype = 'd' FROM pg_type WHERE oid = to_regtype(%s)",
                       (str(RawStream()(type_name)),)).fetchone()
    return bool(row and row[0])


def _has_column(conn: Any, table: str, column: str) -> bool:
    row = conn.execute("SELECT FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                       "AND attname = %s AND NOT attisdropped", (table, column)).fetchone()
    return row is not None


def _unique_probe(table: _Table, params: Sequence[Any], where: Any, nulls_not_distinct: bool,
                  kind: str) -> Probe:
    from pglast import ast
    from pglast.stream import RawStream

    keys = [_ident(p.name) if p.name else f"({RawStream()(p.expr)})" for p in params]
    conditions = " AND ".join([] if nulls_not_distinct else [f"{k} IS NOT NULL" for k in keys])
    where_clause = f" WHERE {conditions}" if conditions else ""
    if where is not None:  # the keys evaluated over the rows its WHERE holds only (a CASE:
        # the planner would run a cheaper key's IS NOT NULL before a costly WHERE)
        where_clause = f" WHERE CASE WHEN ({RawStream()(where)}) THEN {conditions or 'true'} END"
    listed = ", ".join(keys)
    # A constant key (Renku's `CREATE UNIQUE INDEX ... ((true))`, one row at most) is the
    # same in every row: it groups nothing, and PostgreSQL refuses it in GROUP BY ("non-integer
    # constant"; an integer one is read as a position), so it is left out there
    grouped = [k for k, p in zip(keys, params, strict=True)
               if p.name or not isinstance(p.expr, ast.A_Const)]
    group_by = f" GROUP BY {', '.join(grouped)}" if grouped else ""
    return Probe(f"{table.name} ({listed})", f"has duplicate {kind} values",
                 f"SELECT {', '.join(f'{k}::text' for k in keys)} FROM {table.own}"
                 f"{where_clause}{group_by} HAVING count(*) > 1 LIMIT 1", counts=False,
                 find=f"SELECT {listed}, count(*) FROM {table.own}{where_clause}"
                      f"{group_by} HAVING count(*) > 1")


def _exclusion_probe(table: _Table, con: ast.Constraint) -> Probe:
    """`EXCLUDE [USING m] (e1 WITH op1, ...) [WHERE (p)]`: two rows of the table's own (a
    partitioned one's: all; its key's `=` keeps partitions apart) for which every `op` holds
    refuse it (23P01). Each row's keys evaluated once over the rows its WHERE keeps, as the
    index build does; a NULL key conflicts with nothing (PostgreSQL takes the operators as
    strict; an exclusion constraint's operators are commutative: each pair asked once). A
    self-join: over a large table without an index serving it, the query runs to its
    timeout, "not checked"."""
    from pglast.stream import RawStream

    keys = [f"({RawStream()(element.expr)})" if element.expr else _ident(str(element.name))
            for element, _ in con.exclusions or ()]
    operators = [".".join(str(n.sval) for n in operator)
                 for _, operator in con.exclusions or ()]
    where = f" WHERE ({RawStream()(con.where_clause)}) IS TRUE" if con.where_clause else ""
    listed = ", ".join(f"{key} AS k{i}" for i, key in enumerate(keys))
    same = " AND ".join(
        f"a.k{i} {operator if '.' not in operator else f'OPERATOR({operator})'} b.k{i}"
        for i, operator in enumerate(operators))
    rows = f"WITH keyed AS (SELECT row_number() OVER () AS n, {listed} FROM {table.own}{where})"
    return Probe(f"{table.name} ({', '.join(keys)})", "has rows the exclusion constraint "
                 f"{con.conname or '(unnamed)'} refuses together",
                 f"{rows} SELECT {', '.join(f'a.k{i}::text' for i in range(len(keys)))} "
                 f"FROM keyed a JOIN keyed b ON a.n < b.n AND {same} LIMIT 1", counts=False,
                 find=f"{rows} SELECT a.*, b.* FROM keyed a JOIN keyed b ON a.n < b.n AND {same}")


def _foreign_probe(conn: Any, table: _Table, con: ast.Constraint) -> Probe:
    # PostgreSQL looks a key up in the referenced table's own rows (a partitioned one's: all)
    referenced = _table(conn, con.pktable)
    columns = [_ident(k.sval) for k in con.fk_attrs or ()]
    targets = [_ident(k.sval) for k in con.pk_attrs or ()] or _primary_key(conn, referenced.name)
    if len(targets) != len(columns):
        raise _CannotTell(f"the key of {referenced.name} it references is not known now")
    joined = " AND ".join(f"r.{t} = t.{c}" for t, c in zip(targets, columns, strict=True))
    if con.fk_matchtype == "f":  # MATCH FULL: a key partly NULL refuses too
        partly = f"num_nulls({', '.join(f't.{c}' for c in columns)}) BETWEEN 1 AND " \
                 f"{len(columns) - 1}"
        complete = " AND ".join(f"t.{c} IS NOT NULL" for c in columns)
        where = f"({partly}) OR ({complete} AND NOT EXISTS (SELECT FROM {referenced.own} r " \
                f"WHERE {joined}))"
    else:
        complete = " AND ".join(f"t.{c} IS NOT NULL" for c in columns)
        where = f"{complete} AND NOT EXISTS (SELECT FROM {referenced.own} r WHERE {joined})"
    return Probe(f"{table.name} ({', '.join(columns)})",
                 f"references rows missing from {referenced.name}",
                 f"SELECT {', '.join(f't.{c}::text' for c in columns)} FROM {table.own} t "
                 f"WHERE {where} LIMIT 1", counts=False,
                 find=f"SELECT t.* FROM {table.own} t WHERE {where}")


def _validated(conn: Any, table: _Table, name: str, defined: Mapping[str, str | None]
               ) -> ast.Constraint | Probe:
    """The constraint `VALIDATE CONSTRAINT name` validates: the plan's `ADD CONSTRAINT ...
    NOT VALID` of it (`defined`), else the database's not yet validated; or a Probe saying
    PostgreSQL checks nothing (validated already, by the plan or before it: a row loaded
    with its triggers off may break a foreign key, and PostgreSQL does not look)."""
    from pglast import ast, parse_sql

    subject = f"{table.name} ({_ident(name)})"
    if name in defined:
        added = defined[name]
        if added is None:
            raise _CannotTell(f"the plan drops constraint {name} of {table.name} before it")
        if not added:
            return Probe(subject, "", "", counts=False,
                         kept="the plan added it validated: PostgreSQL checks nothing again")
        stmt = parse_sql(added)[0].stmt
        assert isinstance(stmt, ast.AlterTableStmt)
        (con,) = [cmd.def_ for cmd in stmt.cmds or () if isinstance(cmd.def_, ast.Constraint)
                  and cmd.def_.conname == name]
        con.skip_validation = False
        return con
    row = conn.execute("SELECT convalidated FROM pg_constraint WHERE conrelid = "
                       "to_regclass(%s) AND conname = %s", (table.name, name)).fetchone()
    if row is not None and row[0]:
        return Probe(subject, "", "", counts=False,
                     kept="validated already: PostgreSQL checks nothing again")
    return _defined(conn, table.name, name)


def _defined(conn: Any, table: str, name: str) -> ast.Constraint:
    """The constraint `VALIDATE CONSTRAINT name` validates, as the database defines it."""

    row = conn.execute(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = to_regclass(%s) AND c.conname = %s", (table, name)).fetchone()
    if row is None:
        raise _CannotTell(f"constraint {name} does not exist on {table} now, so it is made "
                          "by the plan")
    return _parsed_constraint(table, str(row[0]))


def _parsed_constraint(table: str, definition: str) -> ast.Constraint:
    """A constraint as `pg_get_constraintdef` prints it, read by PostgreSQL's grammar."""
    from pglast import ast, parse_sql

    definition = definition.removesuffix(" NOT VALID")
    stmt = parse_sql(f"ALTER TABLE {table} ADD {definition}")[0].stmt
    assert isinstance(stmt, ast.AlterTableStmt) and stmt.cmds
    constraint = stmt.cmds[0].def_
    assert isinstance(constraint, ast.Constraint)
    return constraint


def _primary_key(conn: Any, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT quote_ident(a.attname) FROM pg_constraint c "
        "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.conrelid = to_regclass(%s) AND c.contype = 'p' ORDER BY k.n",
        (table,)).fetchall()
    return [r[0] for r in rows]


def _count(select: str) -> str:
    return f"SELECT count(*) FROM ({select} LIMIT {COUNT_CAP}) AS refusing"


def _table(conn: Any, relation: Any) -> _Table:
    """`relation` (`ALTER TABLE [ONLY] t`) as `_Table`: ONLY is no part of its name."""
    from pglast import ast
    from pglast.stream import RawStream

    name = str(RawStream()(ast.RangeVar(catalogname=relation.catalogname,
                                        schemaname=relation.schemaname,
                                        relname=relation.relname, inh=True)))
    row = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                       (name,)).fetchone()
    partitioned = row is not None and row[0] == "p"
    return _Table(name, name if relation.inh else f"ONLY {name}",
                  name if partitioned and relation.inh else f"ONLY {name}")


def _ident(name: str) -> str:
    from pglast import ast
    from pglast.stream import RawStream

    return str(RawStream()(ast.ColumnRef(fields=(ast.String(sval=name),))))

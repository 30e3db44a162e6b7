"""Which tables a guarded upgrade reads before its first revision (`guard.rows`, DBS614): only
those whose rows the pending revisions may change, as lint captured them on the throwaway
copy (`lint.row_changes`), or every table when that cannot be told.

The tables the revisions' statements name are taken on the database with what may change
their rows unseen in those statements: the tables inheriting from them (a partitioned
table's partitions: an UPDATE of the parent writes them), and the tables whose foreign keys
reference them, through any number of keys (a cascade deletes or nulls them; an ORM data
migration that deduplicated a table repoints the rows referencing it, which it never touched
on the empty copy), the tables a view among them reads (written through it), and the tables
a trigger or rule on any of them writes (`lint.body_writes`: its function's or its actions'
statements) or a column default of one calls a function writing (an INSERT evaluates it),
each followed the same way (a domain's default too, where the column has none or has one
a revision may drop), with the default of each domain of the database the revisions give a
column (lint's `types`: an ADD COLUMN fills it into every row, an INSERT into a table they
create evaluates it); and when the revisions run DDL, the tables the database's event
triggers write (an audit of DDL). The functions the revisions, a trigger, a rule, a default
or an event trigger call are followed into what they write (`guard.called_writes`: the application's functions
by name in `pg_proc`, or as the revisions create them, through the functions they call in
turn; an extension's in C when it is known to run no SQL); one whose writes cannot be told
(`EXECUTE` of SQL built at run time, a language other than PL/pgSQL and SQL, a function not
found) makes every table read, said with the chain of functions that led to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.guard.called_writes import CalledWrites

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dbsafe.guard.firing import Firing

# The relations the names reach (a bare name: of any schema), then every table inheriting
# from one, referencing one by a foreign key, or read by a view among them (which a write
# through the view writes), through any number of steps.
_REACHED = """
WITH RECURSIVE reached(oid) AS (
    SELECT c.oid FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname || '.' || c.relname = ANY(%(qualified)s) OR c.relname = ANY(%(bare)s)
  UNION
    SELECT edge.child FROM reached JOIN (
        SELECT inhparent AS parent, inhrelid AS child FROM pg_catalog.pg_inherits
        UNION ALL
        SELECT confrelid, conrelid FROM pg_catalog.pg_constraint WHERE contype = 'f'
        UNION ALL
        SELECT r.ev_class, d.refobjid FROM pg_catalog.pg_rewrite r
        JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
             AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
             AND d.deptype = 'n'
        WHERE r.rulename = '_RETURN'
    ) edge ON edge.parent = reached.oid
)
SELECT n.nspname, c.relname, c.relkind, c.oid
FROM reached JOIN pg_catalog.pg_class c ON c.oid = reached.oid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbsafe')
  AND n.nspname NOT LIKE 'pg\\_%%'
ORDER BY 1, 2
"""

# The event triggers the upgrade may fire: on its DDL (`ddl_command_start`, `sql_drop`,
# ...), when it runs any, and on connecting (`login`), which it does; not those disabled.
_EVENT_TRIGGERS = """
SELECT 'event trigger ' || quote_ident(e.evtname), e.evtfoid
FROM pg_catalog.pg_event_trigger e
WHERE e.evtenabled <> 'D' AND (%(ddl)s OR e.evtevent = 'login')
ORDER BY 1
"""

# The defaults of the domains `%(names)s` names (as `to_regtype` reads them).
_DOMAIN_DEFAULTS = """
SELECT t.oid::regtype::text, pg_catalog.pg_get_expr(t.typdefaultbin, 0)
FROM pg_catalog.unnest(%(names)s::text[]) AS given(name)
JOIN pg_catalog.pg_type t ON t.oid = pg_catalog.to_regtype(given.name)
WHERE t.typtype = 'd' AND t.typdefaultbin IS NOT NULL
ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class Choice:
    """The tables to read (None: every table), and what the run's line says of them."""

    tables: tuple[str, ...] | None
    why: str


def choose(conn: Any, changes: object, pending: Sequence[str], *,
           which: str = "the pending revisions") -> Choice:
    """The tables whose rows the `pending` revisions may change, by `schema.table`, from
    lint's `summary["row_changes"]` (`changes`), taken on the database `conn` is connected
    to; every table (`tables=None`) when that cannot be told. `which`: the revisions, as the
    line names them (a downgrade's are undone, not pending: task 475).

    >>> choose(None, None, ["0005"]).why
    'lint did not say which tables the revisions change'
    >>> choose(None, {"revisions": ["0005"], "unknown": "the revisions were not captured as "
    ...               "they ran (--offline)"}, ["0005"]).why
    'the revisions were not captured as they ran (--offline)'
    >>> choose(None, {"revisions": ["0005"], "tables": [], "functions": []}, ["0005", "0006"])
    Choice(tables=None, why='0006 not captured as it ran')
    """
    if not isinstance(changes, dict):
        return Choice(None, "lint did not say which tables the revisions change")
    if changes.get("unknown"):
        return Choice(None, str(changes["unknown"]))
    uncaptured = [r for r in pending if r not in changes.get("revisions", ())]
    if uncaptured:
        return Choice(None, f"{', '.join(uncaptured)} not captured as it ran")
    calls = CalledWrites(conn, changes.get("created_functions") or {})
    called, why = calls.of_calls(changes.get("functions") or ())
    if why is not None:
        return Choice(None, f"the revisions call {why}")
    for view in changes.get("refreshed") or ():  # (its query, as the database holds it)
        written, why = calls.of_view(view)
        if why is not None:
            return Choice(None, f"the revisions refresh {why}")
        called |= written
    fired, why = _event_fired(conn, calls, bool(changes.get("ddl", True)))
    if why is not None:
        return Choice(None, why)
    defaulted, why = _domains_fired(conn, calls, changes.get("types") or ())
    if why is not None:
        return Choice(None, why)
    names = list(changes.get("tables") or ()) + sorted(called | fired | defaulted)
    if not names:
        return Choice((), "no revision changes rows")
    return _reached(conn, calls, names, which)


def _reached(conn: Any, calls: CalledWrites, names: Sequence[str], which: str) -> Choice:
    # Until what the triggers and rules of the relations reached write is reached too; each
    # relation's triggers and rules read once.
    followed = list(dict.fromkeys(names))
    read: set[int] = set()
    while True:
        rows = conn.execute(_REACHED, {"qualified": [n for n in followed if "." in n],
                                       "bare": [n for n in followed if "." not in n]}
                            ).fetchall()
        fresh = [oid for *_, oid in rows if oid not in read]
        written, why = _fired(conn, calls, fresh)
        if why is not None:
            return Choice(None, why)
        read.update(fresh)
        more = [n for n in sorted(written) if n not in followed]
        if not more:
            break
        followed += more
    tables = tuple(f"{s}.{t}" for s, t, kind, _ in rows if kind == "r")
    if not tables:
        return Choice((), "the revisions change rows only of tables they create")
    return Choice(tables, f"the tables {which} may change ({_listed(tables)})")


def _fired(conn: Any, calls: CalledWrites, oids: Sequence[int]
           ) -> tuple[set[str], str | None]:
    """The tables the triggers, rules and column defaults of `oids` write (`guard.firing`:
    every one, enabled or not, on any event: a trigger's function, PostgreSQL's own trigger
    functions in C writing only the row they are given; a rule's actions; a default's or
    generated column's expression, which an INSERT evaluates, and an ON DELETE SET DEFAULT;
    its domain's default, also where the column has one a revision may drop), or why that
    cannot be told."""
    from dbsafe.guard.firing import firing
    from dbsafe.lint.body_writes import expression_writes, rule_writes

    written: set[str] = set()
    for what, each in sorted((_said(each), each) for each in firing(conn, oids)):
        if each.built_in:
            continue
        if each.function is not None:
            tables, why = calls.of_trigger(each.function)
            if why is not None:
                return written, f"{what} runs {why}"
        elif each.kind == "rule":
            tables, why = calls.of_writes(rule_writes(str(each.body)))
            if why is not None:
                return written, f"{what}, which {why}"
        else:
            tables, why = calls.of_writes(expression_writes(str(each.body)))
            if why is not None:
                return written, f"{what} {why}"
        written |= tables
    return written, None


def _said(each: Firing) -> str:
    """How a trigger, rule or default is named in the run's line (`trigger t on app.orders`,
    `the default of app.orders.n`)."""
    from dbsafe.schema.ddl import quote

    column = f"{each.table}.{quote(each.name)}"
    return {"trigger": f"trigger {quote(each.name)} on {each.table}",
            "rule": f"rule {quote(each.name)} on {each.table}",
            "generated": f"generated column {column}",
            "domain": f"the default of domain {each.domain} of {column}",
            "shadowed": f"the default of domain {each.domain} of {column}"}.get(
        each.kind, f"the default of {column}")


def _event_fired(conn: Any, calls: CalledWrites, ddl: bool) -> tuple[set[str], str | None]:
    """The tables the event triggers the upgrade fires write (`ddl`: it runs DDL), or why
    that cannot be told."""
    written: set[str] = set()
    for what, function in conn.execute(_EVENT_TRIGGERS, {"ddl": ddl}):
        tables, why = calls.of_trigger(function)
        if why is not None:
            return written, f"{what} runs {why}"
        written |= tables
    return written, None


def _domains_fired(conn: Any, calls: CalledWrites, types: Sequence[str]
                   ) -> tuple[set[str], str | None]:
    """The tables the defaults of the domains among `types` (lint's names of the types the
    revisions give columns) write, or why that cannot be told: an `ADD COLUMN` of one fills it
    into every row, an `INSERT` evaluates it where the column has no default of its own (the
    revisions' own tables, unseen in the database's)."""
    from dbsafe.lint.body_writes import expression_writes
    from dbsafe.schema.ddl import quote

    names = [".".join(quote(part) for part in str(name).split("."))
             for name in types if str(name).count(".") <= 1]
    written: set[str] = set()
    for domain, default in conn.execute(_DOMAIN_DEFAULTS, {"names": names}):
        tables, why = calls.of_writes(expression_writes(str(default)))
        if why is not None:
            return written, f"the default of domain {domain} (a type the revisions give a " \
                            f"column) {why}"
        written |= tables
    return written, None


def _listed(tables: Sequence[str], shown: int = 5) -> str:
    more = len(tables) - shown
    return ", ".join(tables[:shown]) + (f" and {more} more" if more > 0 else "")


"""Which tables a guarded upgrade reads before its first revision (`guard.rows`, DBS614): only
those whose rows the pending revisions may change, as lint captured them on the throwaway
copy (`lint.row_changes`), or every table when that cannot be told.

The tables the revisions' statements name are taken on the database with what may change
their rows unseen in those statements: the tables inheriting from them (a partitioned
table's partitions: an UPDATE of the parent writes them), and the tables whose foreign keys
reference them, through any number of keys (a cascade deletes or nulls them; an ORM data
migration that deduplicated a table repoints the rows referencing it, which it never touched
on the empty copy). A view among them (its tables are not followed), a trigger or rule on one
of them (what it writes is unknown), or a function the revisions call that is not
PostgreSQL's own (it may write any table) makes every table read, said with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

# The relations the names reach (a bare name: of any schema), then every table inheriting
# from one or referencing one by a foreign key, through any number of steps; each with
# whether a trigger or rule of its own may write elsewhere.
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
    ) edge ON edge.parent = reached.oid
)
SELECT n.nspname, c.relname, c.relkind,
       EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
               WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r
                  WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN')
FROM reached JOIN pg_catalog.pg_class c ON c.oid = reached.oid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbsafe')
  AND n.nspname NOT LIKE 'pg\\_%%'
ORDER BY 1, 2
"""

# Of the function names called, those PostgreSQL ships (pg_catalog).
_BUILTIN = """
SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY(%s)
"""


@dataclass(frozen=True, slots=True)
class Choice:
    """The tables to read (None: every table), and what the run's line says of them."""

    tables: tuple[str, ...] | None
    why: str


def choose(conn: Any, changes: object, pending: Sequence[str]) -> Choice:
    """The tables whose rows the `pending` revisions may change, by `schema.table`, from
    lint's `summary["row_changes"]` (`changes`), taken on the database `conn` is connected
    to; every table (`tables=None`) when that cannot be told.

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
    foreign = _not_builtin(conn, changes.get("functions") or ())
    if foreign:
        return Choice(None, f"the revisions call {', '.join(foreign)}, which may change any "
                      "table")
    names = list(changes.get("tables") or ())
    if not names:
        return Choice((), "no revision changes rows")
    return _reached(conn, names)


def _not_builtin(conn: Any, functions: Sequence[str]) -> list[str]:
    # A schema-qualified name outside pg_catalog is the application's; a bare one is
    # PostgreSQL's when pg_catalog has it (searched first unless the path says otherwise).
    if not functions:
        return []
    bare = {f.removeprefix("pg_catalog.") for f in functions}
    builtin = {r[0] for r in conn.execute(_BUILTIN, (sorted(bare),))}
    return sorted(f for f in functions if f.removeprefix("pg_catalog.") not in builtin
                  or ("." in f and not f.startswith("pg_catalog.")))


def _reached(conn: Any, names: Sequence[str]) -> Choice:
    rows = conn.execute(_REACHED, {"qualified": [n for n in names if "." in n],
                                   "bare": [n for n in names if "." not in n]}).fetchall()
    views = [f"{s}.{t}" for s, t, kind, _ in rows if kind == "v"]
    if views:
        return Choice(None, f"the revisions write through view(s) {', '.join(views)}")
    firing = [f"{s}.{t}" for s, t, _, fires in rows if fires]
    if firing:
        return Choice(None, f"triggers or rules on {_listed(firing)} may write other "
                      "tables")
    tables = tuple(f"{s}.{t}" for s, t, kind, _ in rows if kind == "r")
    if not tables:
        return Choice((), "the revisions change rows only of tables they create")
    return Choice(tables, f"the tables the pending revisions may change ({_listed(tables)})")


def _listed(tables: Sequence[str], shown: int = 5) -> str:
    more = len(tables) - shown
    return ", ".join(tables[:shown]) + (f" and {more} more" if more > 0 else "")


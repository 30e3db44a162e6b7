"""Expression indexes and extended statistics an upgrade made that have no statistics yet
(DBS616), and the `ANALYZE` of their tables that `upgrade --analyze` runs.

PostgreSQL keeps statistics for a column, not for an expression: an index on `lower(email)`
or `(data->>'id')` has none until its table is next analysed (autovacuum may take hours on
a big table), and a `CREATE STATISTICS` object is empty until then, so the planner guesses
the queries using them right after the deploy (strong_migrations' `auto_analyze`). An index
on plain columns needs nothing: the columns' statistics exist. What is missing is read from
`pg_stats`/`pg_stats_ext` after the run, for the objects the run made (their OIDs were not
there before it): never guessed from the revisions' text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.core import Finding, RuleInfo, Severity
from dbsafe.pg.connect import connect, one_line

if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg

STATISTICS_MISSING = RuleInfo(
    "DBS616", "expression-statistics-missing",
    "The upgrade made an expression index or extended statistics on a table that has no "
    "statistics for it yet, so the planner guesses queries using it until the table is "
    "next analysed.",
    Severity.NOTE, "0.2.0")

# Every expression index (a plain index's columns have statistics of their own) and every
# extended statistics object, by OID: what the run made is what was not there before it.
_OBJECTS = """
SELECT i.indexrelid::oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indexprs IS NOT NULL AND c.relkind = 'i'
UNION ALL
SELECT oid FROM pg_statistic_ext
"""

# Those of them not in `before` (%(before)s) without statistics: an index has a `pg_stats`
# row per expression once analysed, an extended statistics object a `pg_stats_ext` row.
# (An invalid index is the postflight's DBS501; a statistics target of 0 collects none.)
# Both views hide what the connecting role may not read (an index's rows: its own SELECT
# privilege, which only its owner has; an extended statistics object's: membership in its
# table's owner, and no row security active), so a role owning nothing saw none and was told
# to ANALYZE: such an object is returned unreadable (last column false), whatever its
# statistics. The conditions are the views' own.
_MISSING = """
SELECT tn.nspname, t.relname, format('%%I.%%I', tn.nspname, t.relname),
       format('%%I.%%I', n.nspname, c.relname), 'expression index', readable
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace,
       LATERAL (SELECT has_table_privilege(c.oid, 'SELECT') AS readable) r
 WHERE i.indexprs IS NOT NULL AND c.relkind = 'i' AND i.indisvalid
   AND NOT i.indexrelid = ANY(%(before)s)
   AND NOT (readable AND EXISTS (SELECT FROM pg_stats s
                                  WHERE s.schemaname = n.nspname AND s.tablename = c.relname))
UNION ALL
SELECT tn.nspname, t.relname, format('%%I.%%I', tn.nspname, t.relname),
       format('%%I.%%I', n.nspname, x.stxname), 'extended statistics', readable
  FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace
  JOIN pg_class t ON t.oid = x.stxrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace,
       LATERAL (SELECT pg_has_role(t.relowner, 'USAGE')
                       AND (NOT t.relrowsecurity OR NOT row_security_active(t.oid)) AS readable) r
 WHERE NOT x.oid = ANY(%(before)s) AND x.stxstattarget IS DISTINCT FROM 0
   AND NOT (readable AND EXISTS (SELECT FROM pg_stats_ext s
                                  WHERE s.statistics_schemaname = n.nspname
                                    AND s.statistics_name = x.stxname))
 ORDER BY 1, 2, 4
"""


@dataclass(frozen=True, slots=True)
class Unanalysed:
    """A table holding rows whose new expression indexes or extended statistics
    (`objects`: (kind, qualified name)) have no statistics yet; or, `unreadable`, whose
    statistics the connecting role may not read (dbsafe cannot tell)."""

    schema: str
    name: str
    table: str  # schema.name as PostgreSQL prints it: quoted where it needs to be
    objects: tuple[tuple[str, str], ...]
    unreadable: bool = False

    @property
    def analyze(self) -> str:
        return f"ANALYZE {self.table};"

    def describe(self) -> str:
        named = ", ".join(f"{kind} `{name}`" for kind, name in self.objects)
        if self.unreadable:
            return (f"cannot tell whether `{self.table}` has statistics for {named}: this "
                    "role may not read them (pg_stats shows only its own tables' and those "
                    f"it may read); if it has none, {self.analyze}")
        return f"no statistics yet on `{self.table}` for {named}"


def statistics_objects(url: str) -> frozenset[int]:
    """The OIDs of the database's expression indexes and extended statistics objects."""
    with connect(url) as conn:
        return frozenset(row[0] for row in conn.execute(_OBJECTS))


def unanalysed(url: str, before: frozenset[int], *, lock_timeout: str) -> list[Unanalysed]:
    """The tables with rows whose expression indexes or extended statistics made since
    `before` (`statistics_objects`) have no statistics, then those whose statistics the
    role may not read (`unreadable`). An empty table is left out:
    ANALYZE collects nothing from it (whether it is empty is read, waiting for its lock at
    most `lock_timeout`; a table not read is named, a needless note rather than none)."""
    with connect(url) as conn:
        rows = conn.execute(_MISSING, {"before": sorted(before)}).fetchall()
        by_table: dict[tuple[str, str, str, bool], list[tuple[str, str]]] = {}
        for schema, name, table, qualified, kind, readable in rows:
            by_table.setdefault((schema, name, table, not readable), []).append(
                (kind, qualified))
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (lock_timeout,))
        return [Unanalysed(schema, name, table, tuple(objects), unreadable)
                # (the readable first, each in PostgreSQL's order: the sort is stable)
                for (schema, name, table, unreadable), objects in sorted(
                    by_table.items(), key=lambda item: item[0][3])
                if _holds_rows(conn, schema, name)]


def _holds_rows(conn: psycopg.Connection[Any], schema: str, name: str) -> bool:
    import psycopg
    from psycopg import sql

    query = sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(schema, name))
    try:
        row = conn.execute(query).fetchone()
    except psycopg.Error:
        return True
    return bool(row and row[0])


def analyze(url: str, tables: Sequence[Unanalysed], *, statement_timeout: str,
            lock_timeout: str, application_name: str) -> list[tuple[Unanalysed, float, str]]:
    """`ANALYZE` each table under the run's timeouts: (table, seconds, why it failed or
    "")."""
    import psycopg
    from psycopg import sql

    done: list[tuple[Unanalysed, float, str]] = []
    with connect(url, application_name=application_name) as conn:
        conn.execute("SELECT set_config('statement_timeout', %s, false), "
                     "set_config('lock_timeout', %s, false)", (statement_timeout, lock_timeout))
        for table in tables:
            started = time.perf_counter()
            try:
                conn.execute(sql.SQL("ANALYZE {}").format(
                    sql.Identifier(table.schema, table.name)))
                failure = ""
            except psycopg.Error as exc:
                failure = one_line(exc, url)
            done.append((table, round(time.perf_counter() - started, 3), failure))
    return done


def statistics_missing(table: Unanalysed, failure: str = "") -> Finding:
    """DBS616 for `table`; `failure`: why `--analyze` could not analyse it."""
    named = ", ".join(f"{kind} `{name}`" for kind, name in table.objects)
    context = (("ANALYZE failed", failure),) if failure else ()
    return Finding(
        code=STATISTICS_MISSING.code, severity=Severity.NOTE,
        message=f"Table `{table.table}` has no statistics yet for the {named} this upgrade "
                "made: the planner guesses queries using it until the table is analysed.",
        help=f"Run `{table.analyze}` now (or `dbsafe upgrade --analyze` next time) instead "
             "of waiting for autovacuum.",
        subject=table.table, context=context)

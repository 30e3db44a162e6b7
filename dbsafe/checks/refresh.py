"""Refresh materialized views safely, in dependency order, and record each refresh.

`dbsafe refresh-views` lives beside the checks because it acts on exactly what DBS502/DBS503
look at: a view is refreshed `CONCURRENTLY` when it qualifies (populated, with a valid
unique index on plain columns and no predicate); otherwise only with `allow_blocking`,
because a plain refresh holds an ACCESS EXCLUSIVE lock that blocks every reader. Each
refresh runs with `lock_timeout` and `statement_timeout`, and writes one row to
`dbsafe.refresh_history` in the target database (view, mode, start, duration, rows,
outcome). This is the one place in `dbsafe.checks` that writes.
"""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbsafe.core import ConfigError, DatabaseError, Finding, RuleInfo, Severity

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

REFRESH_FAILED = RuleInfo(
    code="DBS551",
    name="matview-refresh-failed",
    summary="A materialized view refresh failed (lock timeout, statement timeout or an error).",
    default_severity=Severity.ERROR,
    since="0.1.0",
)
BLOCKING_REFRESH_SKIPPED = RuleInfo(
    code="DBS552",
    name="blocking-refresh-skipped",
    summary="A materialized view was not refreshed because only a blocking refresh was "
            "possible and `--allow-blocking` was not given.",
    default_severity=Severity.WARNING,
    since="0.1.0",
)
RULES = (REFRESH_FAILED, BLOCKING_REFRESH_SKIPPED)

HISTORY_TABLE = "dbsafe.refresh_history"

_CREATE_HISTORY = """
CREATE SCHEMA IF NOT EXISTS dbsafe;
CREATE TABLE IF NOT EXISTS dbsafe.refresh_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    view_name text NOT NULL,
    mode text NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms bigint,
    row_count bigint,
    outcome text NOT NULL,
    error text,
    os_user text,
    dbsafe_version text
)
"""

# Every materialized view with what decides how it can be refreshed.
_VIEWS = """
SELECT c.oid, n.nspname, c.relname, c.relispopulated,
       EXISTS (SELECT FROM pg_index AS i
               WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
                 AND i.indpred IS NULL AND i.indexprs IS NULL) AS has_unique_index
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
"""

# Which relations (views and materialized views) each view or materialized view reads.
_EDGES = """
SELECT DISTINCT r.ev_class, d.refobjid
FROM pg_depend AS d
JOIN pg_rewrite AS r ON r.oid = d.objid
JOIN pg_class AS ref ON ref.oid = d.refobjid
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refclassid = 'pg_class'::regclass
  AND d.refobjid <> r.ev_class
  AND ref.relkind IN ('m', 'v')
"""


@dataclass(frozen=True, slots=True)
class MatView:
    oid: int
    schema: str
    name: str
    populated: bool
    has_unique_index: bool

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def concurrent_ok(self) -> bool:
        return self.populated and self.has_unique_index


@dataclass(frozen=True, slots=True)
class Refresh:
    """One view's refresh: what was done and how it went."""

    view: str
    mode: str  # "concurrently" | "blocking" | "skipped"
    started_at: datetime
    duration: float  # seconds
    rows: int | None
    outcome: str  # "ok" | "failed" | "skipped"
    error: str | None = None

    def as_row(self) -> dict[str, object]:
        return {"view": self.view, "mode": self.mode,
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "duration_s": round(self.duration, 3), "rows": self.rows,
                "outcome": self.outcome, "error": self.error}


def dependency_order(views: Sequence[MatView], edges: Iterable[tuple[int, int]]
                     ) -> list[MatView]:
    """`views` ordered so every view comes after the materialized views it reads.

    Reads through plain views count (`mv_b` reads view `v` which reads `mv_a`). Ties keep
    name order, so the order is stable.

    Example:
        >>> a, b, c = (MatView(i, "public", n, True, True) for i, n in ((1, "a"), (2, "b"),
        ...                                                            (3, "c")))
        >>> [v.name for v in dependency_order([a, b, c], [(1, 9), (9, 3)])]
        ['b', 'c', 'a']
    """
    reads: dict[int, set[int]] = {}
    for dependent, referenced in edges:
        reads.setdefault(dependent, set()).add(referenced)
    by_oid = {v.oid: v for v in views}

    def matview_inputs(oid: int) -> set[int]:
        found: set[int] = set()
        stack, seen = list(reads.get(oid, ())), set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in by_oid:
                found.add(current)
            else:  # a plain view: look through it
                stack.extend(reads.get(current, ()))
        return found

    ordered: list[MatView] = []
    done: set[int] = set()
    pending = sorted(views, key=lambda v: (v.schema, v.name))
    inputs = {v.oid: matview_inputs(v.oid) for v in pending}
    while pending:
        ready = [v for v in pending if inputs[v.oid] <= done]
        if not ready:  # a cycle cannot be created through views; keep going regardless
            ready = pending[:1]
        for view in ready:
            ordered.append(view)
            done.add(view.oid)
        pending = [v for v in pending if v.oid not in done]
    return ordered


def refresh_views(conn: psycopg.Connection[Any], names: Sequence[str] = (), *,
                  allow_blocking: bool = False, stagger: float = 0.0,
                  lock_timeout: str = "2s", statement_timeout: str = "0",
                  progress: Callable[[str], None] | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> list[Refresh]:
    """Refresh materialized views in dependency order and record each in the history table.

    Args:
        conn: an autocommit connection to the target database.
        names: views to refresh (`view` or `schema.view`, resolved by the search path);
            empty refreshes all. Dependency order applies either way.
        allow_blocking: refresh plainly (blocking readers) a view that cannot be refreshed
            concurrently; otherwise it is skipped.
        stagger: seconds to wait between two refreshes.
        lock_timeout: how long a refresh may wait for its lock.
        statement_timeout: how long a refresh may run ("0": no limit).
        progress: called with one line per step.

    Raises:
        ConfigError: a named view does not exist or is not a materialized view.
    """
    say = progress or (lambda message: None)
    views = [MatView(*row) for row in conn.execute(_VIEWS).fetchall()]
    edges = conn.execute(_EDGES).fetchall()
    ordered = dependency_order(views, edges)
    if names:
        wanted = _resolve(conn, names, {v.oid for v in views})
        ordered = [v for v in ordered if v.oid in wanted]
    conn.execute(_CREATE_HISTORY)
    conn.execute("SELECT set_config('lock_timeout', %s, false), "
                 "set_config('statement_timeout', %s, false)", (lock_timeout, statement_timeout))
    results = []
    for index, view in enumerate(ordered):
        if index and stagger > 0:
            say(f"waiting {stagger:g}s before the next refresh")
            sleep(stagger)
        result = _refresh_one(conn, view, allow_blocking, say)
        _record(conn, result)
        results.append(result)
    return results


def _resolve(conn: psycopg.Connection[Any], names: Sequence[str], matviews: set[int]
             ) -> set[int]:
    wanted = set()
    for name in names:
        oid = conn.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()
        if oid is None or oid[0] is None:
            raise ConfigError(f"materialized view {name!r} does not exist")
        if oid[0] not in matviews:
            raise ConfigError(f"{name!r} is not a materialized view")
        wanted.add(oid[0])
    return wanted


def _refresh_one(conn: psycopg.Connection[Any], view: MatView, allow_blocking: bool,
                 say: Callable[[str], None]) -> Refresh:
    import psycopg
    from psycopg import sql

    started_at = datetime.now().astimezone()
    if view.concurrent_ok:
        mode = "concurrently"
    elif allow_blocking:
        mode = "blocking"
    else:
        why = "it has not been populated" if not view.populated else \
            "it has no unique index usable by CONCURRENTLY"
        say(f"{view.qualified_name}: skipped ({why}; --allow-blocking refreshes it, "
            "blocking its readers)")
        return Refresh(view.qualified_name, "skipped", started_at, 0.0, None, "skipped", why)
    target = sql.Identifier(view.schema, view.name)
    statement = sql.SQL("REFRESH MATERIALIZED VIEW {}{}").format(
        sql.SQL("CONCURRENTLY " if mode == "concurrently" else ""), target)
    say(f"{view.qualified_name}: refreshing {mode}")
    start = time.perf_counter()
    try:
        conn.execute(statement)
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()
    except psycopg.Error as exc:
        if conn.closed or conn.broken:
            raise DatabaseError(f"lost the connection while refreshing {view.qualified_name}: "
                                f"{exc}") from None
        duration = time.perf_counter() - start
        error = " ".join(str(exc).split())
        say(f"{view.qualified_name}: failed after {duration:.1f}s: {error}")
        return Refresh(view.qualified_name, mode, started_at, duration, None, "failed", error)
    duration = time.perf_counter() - start
    count = rows[0] if rows else None
    say(f"{view.qualified_name}: refreshed {mode} in {duration:.1f}s ({count} rows)")
    return Refresh(view.qualified_name, mode, started_at, duration, count, "ok")


def _record(conn: psycopg.Connection[Any], result: Refresh) -> None:
    from dbsafe import __version__

    conn.execute(
        "INSERT INTO dbsafe.refresh_history (view_name, mode, started_at, duration_ms, "
        "row_count, outcome, error, os_user, dbsafe_version) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (result.view, result.mode, result.started_at, round(result.duration * 1000),
         result.rows, result.outcome, result.error, _os_user(), __version__))


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return None


def history(conn: psycopg.Connection[Any], limit: int = 50) -> list[dict[str, object]]:
    """The latest refreshes recorded in `dbsafe.refresh_history`, newest first."""
    exists = conn.execute("SELECT to_regclass('dbsafe.refresh_history')").fetchone()
    if exists is None or exists[0] is None:
        return []
    rows = conn.execute(
        "SELECT started_at, view_name, mode, duration_ms, row_count, outcome, error, os_user "
        "FROM dbsafe.refresh_history ORDER BY started_at DESC, id DESC LIMIT %s", (limit,)
    ).fetchall()
    keys = ("started_at", "view", "mode", "duration_ms", "rows", "outcome", "error", "os_user")
    return [{k: (v.isoformat(timespec="seconds") if isinstance(v, datetime) else v)
             for k, v in zip(keys, row)} for row in rows]


def findings(results: Sequence[Refresh]) -> list[Finding]:
    """A finding per refresh that failed or was skipped."""
    out = []
    for r in results:
        if r.outcome == "failed":
            out.append(Finding(REFRESH_FAILED.code,
                               f"Refreshing `{r.view}` {r.mode} failed after "
                               f"{r.duration:.1f}s.", REFRESH_FAILED.default_severity,
                               subject=r.view, help="Read the database error; on a lock "
                               "timeout, retry when the blocking session is gone.",
                               context=(("Database error", r.error or ""),)))
        elif r.outcome == "skipped":
            out.append(Finding(BLOCKING_REFRESH_SKIPPED.code,
                               f"`{r.view}` was not refreshed: {r.error}, so only a blocking "
                               "refresh is possible.", BLOCKING_REFRESH_SKIPPED.default_severity,
                               subject=r.view, help="Create a unique index on plain columns "
                               "(and populate the view once), or pass --allow-blocking."))
    return out


def render_history_text(rows: Sequence[Mapping[str, object]]) -> str:
    """The history as a plain table for the terminal."""
    if not rows:
        return "no refreshes recorded (dbsafe.refresh_history is empty or absent)\n"
    header = ("started_at", "view", "mode", "duration_ms", "rows", "outcome")
    table = [header] + [tuple("" if r[k] is None else str(r[k]) for k in header) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n"
                   for row in table)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_LONGEST_PAUSE = 24 * 3600.0


def parse_duration(text: str) -> float:
    """Seconds in `30s`, `2m`, `1.5h`, `500ms` or a bare number of seconds.

    >>> parse_duration("30s"), parse_duration("2m"), parse_duration("0.5"), parse_duration("250ms")
    (30.0, 120.0, 0.5, 0.25)
    """
    value = text.strip().lower()
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
    unit = value[len(number):].strip() or "s"
    try:
        seconds = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise ConfigError(f"not a duration: {text!r} (e.g. 30s, 2m, 500ms)") from None
    if seconds < 0:
        raise ConfigError(f"not a duration: {text!r} (must not be negative)")
    if not seconds <= _LONGEST_PAUSE:  # also NaN; `time.sleep` overflows from about 1e10 s
        raise ConfigError(f"not a duration: {text!r} (at most 24h)")
    return seconds

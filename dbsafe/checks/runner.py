"""Run checks against a live database: read-only, bounded in time, one result per check.

Each check runs in its own transaction, opened `READ ONLY` (psycopg sends `BEGIN READ
ONLY`, the same as `SET TRANSACTION READ ONLY` first thing in the transaction), with
`statement_timeout` and `lock_timeout` set for that transaction only, and is always rolled
back. A row whose `not_checked` column holds text is no finding: it says what the check could
not look at (tables dbsafe's role may not read, statistics it may not see) and why, in one
line, kept in `CheckResult.not_checked` so the report says so rather than pass in silence.
Thresholds reach the SQL as transaction-local settings (`dbsafe.sequence_usage_threshold`,
...) read with `current_setting('dbsafe.x', true)`, so check files take no bind parameters and
still run by hand in psql with their built-in defaults. A check whose SQL fails becomes a
DBS004 finding and the others still run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbsafe.core import ConfigError, DatabaseError, Finding, RuleInfo, Severity, unknown_codes

if TYPE_CHECKING:
    import psycopg

    from dbsafe.checks.loader import Check
    from dbsafe.config import Settings

log = logging.getLogger(__name__)

CHECK_FAILED = RuleInfo(
    code="DBS004",
    name="check-failed",
    summary="A database check could not run, so its problem may be present unseen.",
    default_severity=Severity.ERROR,
    since="0.1.0",
)


# A check's rows with text in this column are what it could not look at, not findings.
NOT_CHECKED_COLUMN = "not_checked"
# Text in this column is the finding's help instead of the header's (DBS511: a sequence's own
# MAXVALUE is raised, not its type widened).
HELP_COLUMN = "help"
# Built-in checks whose rows a domain module reads further, in the same read-only
# transaction, before they are findings: what SQL cannot read (DBS520: a function's string
# body, which only PostgreSQL's parser reads). The module's `refine(cursor, columns, rows)`
# returns the columns and rows the format asks for; the check itself is its SQL file.
_REFINED = {"DBS520": "dbsafe.schema.maintenance_path"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check produced: its findings, or the error that stopped it, and what it could
    not look at (one line each, from its rows' `not_checked` column)."""

    check: Check
    findings: tuple[Finding, ...]
    elapsed: float
    error: str | None = None
    not_checked: tuple[str, ...] = ()
    # The SQLSTATE of the statement that stopped it and the server's message alone: 55P03,
    # "canceling statement due to lock timeout", when its lock was not granted within
    # `lock_timeout` (a guarded run runs it again, `guard.upgrade`).
    sqlstate: str | None = None
    server_message: str | None = None

    def not_checked_lines(self) -> list[str]:
        """`DBS513 orphaned-rows not checked: <reason>`, one per reason (the report's
        `not_checked` summary)."""
        return [f"{self.check.code} {self.check.name} not checked: {reason}"
                for reason in self.not_checked]


def parameters(settings: Settings) -> dict[str, str]:
    """The transaction-local settings every check can read (`current_setting`)."""
    values = {
        "dbsafe.sequence_usage_threshold": str(settings.sequence_usage_threshold),
        "dbsafe.require_rls": ",".join(settings.require_rls),
        "dbsafe.bloat_min_size": str(settings.bloat_min_size),
        "dbsafe.bloat_ratio": str(settings.bloat_ratio),
        "dbsafe.unused_index_min_age": settings.unused_index_min_age,
    }
    values.update({f"dbsafe.{k.replace('-', '_')}": v for k, v in settings.check_variables.items()})
    return values


def select_checks(checks: Sequence[Check], only: Sequence[str], *,
                  also: Sequence[str] = ("DBS550",)) -> tuple[Check, ...]:
    """The checks whose code starts with one of `only` (all when empty).

    Args:
        checks: the loaded checks.
        only: codes or code prefixes.
        also: other codes `only` may name without error (DBS550: the expectations).

    Raises:
        ConfigError: an entry of `only` matches no check and none of `also`.
    """
    if not only:
        return tuple(checks)
    wanted = [o.upper() for o in only]
    unknown = [o for o in wanted if not any(c.code.startswith(o) for c in checks)
               and not any(code.startswith(o) for code in also)]
    if unknown:
        known = [c.code for c in checks] + list(also)
        raise ConfigError(f"--only: {unknown_codes(unknown, known)}")
    return tuple(c for c in checks if any(c.code.startswith(o) for o in wanted))


@contextmanager
def connect(conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection tagged `application_name=dbsafe`; errors name the target, never a password.

    `conninfo` may be a libpq URL or key/value string, or a SQLAlchemy-style URL
    (`postgresql+psycopg://...`).
    """
    from dbsafe.pg.connect import connect as connect_to

    conn = connect_to(conninfo, autocommit=False)
    with conn:
        yield conn


def run(conn: psycopg.Connection[Any], checks: Sequence[Check], settings: Settings,
        *, conninfo: str | None = None) -> list[CheckResult]:
    """Run `checks` one by one on `conn`, each in a read-only transaction rolled back after.

    Args:
        conn: an open connection not in a transaction; it is left that way.
        checks: what to run, in order.
        settings: timeouts and thresholds.
        conninfo: the URL `conn` came from, to scrub its password from error messages.

    Raises:
        DatabaseError: the connection was lost (the remaining checks cannot run).
    """
    import psycopg

    from dbsafe.pg.urls import redact_any

    params = parameters(settings)
    results = []
    autocommit, read_only = conn.autocommit, conn.read_only
    conn.autocommit = False
    conn.read_only = True
    try:
        _check_interval(conn, settings)
        for check in checks:
            started = time.perf_counter()
            not_checked: list[str] = []
            sqlstate = server_message = None
            try:
                findings = tuple(_run_one(conn, check, settings, params, not_checked))
                error = None
            except psycopg.Error as exc:
                sqlstate, server_message = exc.sqlstate, exc.diag.message_primary
                conn.rollback()
                if conn.closed or conn.broken:
                    raise DatabaseError(f"lost the connection while running {check.code} "
                                        f"{check.name}: {redact_any(str(exc), conninfo)}"
                                        ) from None
                error = " ".join(redact_any(str(exc), conninfo).split())
                findings = (_failed(check, error),)
            except _BadResult as exc:
                conn.rollback()
                error = str(exc)
                findings = (_failed(check, error),)
            elapsed = time.perf_counter() - started
            log.debug("%s %s: %d finding(s) in %.3fs", check.code, check.name, len(findings),
                      elapsed)
            results.append(CheckResult(check, findings, elapsed, error,
                                       tuple(not_checked) if error is None else (), sqlstate,
                                       server_message))
    finally:
        if not conn.closed:
            conn.rollback()
            conn.read_only = read_only
            conn.autocommit = autocommit
    return results


def _check_interval(conn: psycopg.Connection[Any], settings: Settings) -> None:
    """Refuse an `unused-index-min-age` PostgreSQL does not read as an interval, naming the
    setting: DBS514 failed with it (DBS004), its help saying to fix the check's SQL."""
    import psycopg

    from dbsafe.config import where

    if not settings.unused_index_min_age:  # the check's own default, as unset
        return
    try:
        conn.execute("SELECT %s::pg_catalog.interval", (settings.unused_index_min_age,))
    except psycopg.DataError as exc:
        raise ConfigError(f"{where(settings, 'unused-index-min-age')}: "
                          f"{settings.unused_index_min_age!r} is not a PostgreSQL interval "
                          f"such as '7 days' ({exc.diag.message_primary})") from None
    finally:
        conn.rollback()


class _BadResult(Exception):
    """The check ran but did not return the columns the format requires."""


def _run_one(conn: psycopg.Connection[Any], check: Check, settings: Settings,
             params: dict[str, str], not_checked: list[str]) -> Iterator[Finding]:
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('statement_timeout', %s, true), "
                        "set_config('lock_timeout', %s, true)",
                        (settings.check_timeout, settings.lock_timeout))
            for name, value in params.items():
                cur.execute("SELECT set_config(%s, %s, true)", (name, value))
            # No parameters, so `%` in the check's format() calls stays literal; prepared, so
            # PostgreSQL accepts exactly one statement.
            cur.execute(check.sql, prepare=True)
            columns = [c.name for c in cur.description or ()]
            rows = cur.fetchall()
            if check.builtin and check.code in _REFINED:
                import importlib

                columns, rows = importlib.import_module(_REFINED[check.code]).refine(
                    cur, columns, rows)
    finally:
        conn.rollback()
    if "subject" not in columns or "message" not in columns:
        raise _BadResult(f"the query must return `subject` and `message` columns; it returned "
                         f"{', '.join(columns) or 'none'}")
    extra = [(i, name) for i, name in enumerate(columns)
             if name not in ("subject", "message", NOT_CHECKED_COLUMN, HELP_COLUMN)]
    subject_at, message_at = columns.index("subject"), columns.index("message")
    reason_at = columns.index(NOT_CHECKED_COLUMN) if NOT_CHECKED_COLUMN in columns else None
    help_at = columns.index(HELP_COLUMN) if HELP_COLUMN in columns else None
    for row in rows:
        if reason_at is not None and row[reason_at] is not None:
            not_checked.append(" ".join(str(row[reason_at]).split()))
            continue
        yield Finding(
            code=check.code,
            message=str(row[message_at]),
            severity=check.severity,
            subject=None if row[subject_at] is None else str(row[subject_at]),
            help=check.help if help_at is None or row[help_at] is None else str(row[help_at]),
            context=tuple((name, _text(row[i])) for i, name in extra if row[i] is not None),
        )


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _failed(check: Check, error: str) -> Finding:
    return Finding(
        code=CHECK_FAILED.code,
        message=f"Check `{check.code} {check.name}` could not run, so its problem may be "
                "present unseen.",
        severity=CHECK_FAILED.default_severity,
        subject=check.code,
        help="Fix the check's SQL or raise `check-timeout`, then run it again.",
        context=(("Database error", error), ("Check file", check.path)),
    )

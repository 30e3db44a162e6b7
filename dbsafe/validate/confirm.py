"""Ask PostgreSQL whether a statement references an undefined table or column.

Static resolution finds candidates; where a database with the same schema is at hand, each
candidate statement is *prepared* (protocol-level Parse, which runs parse analysis and name
resolution) inside a transaction that is always rolled back, with a short `lock_timeout`
and `statement_timeout`. Nothing is ever executed. A candidate is kept only if PostgreSQL
also rejects the statement with undefined_column (42703) or undefined_table (42P01).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from dbsafe.core import DatabaseError

log = logging.getLogger(__name__)

UNDEFINED_CODES = frozenset({"42703", "42P01"})  # undefined_column, undefined_table


@dataclass(frozen=True, slots=True)
class Verdict:
    """What PostgreSQL said about one statement."""

    rejected: bool  # True: undefined column/table, the finding stands
    sqlstate: str | None = None
    message: str | None = None
    hint: str | None = None


def confirm(
    url: str,
    statements: Sequence[str],
    *,
    lock_timeout: str = "2s",
    statement_timeout: str = "5s",
) -> list[Verdict]:
    """Prepare each statement on `url` and report PostgreSQL's verdict, in order."""
    return list(_confirm_iter(url, statements, lock_timeout, statement_timeout))


def _confirm_iter(
    url: str, statements: Iterable[str], lock_timeout: str, statement_timeout: str
) -> Iterator[Verdict]:
    import psycopg
    from psycopg import pq

    try:
        conn = psycopg.connect(url, autocommit=True, application_name="dbsafe validate",
                               connect_timeout=10)
    except psycopg.Error as exc:
        from dbsafe.pg.urls import redact_url

        raise DatabaseError(
            f"cannot connect to {redact_url(url)} to confirm findings: {_first_line(exc)}"
        ) from None
    with conn:
        pg = conn.pgconn  # raw libpq: Parse without Bind/Execute, which psycopg has no API for
        for sql in statements:
            _exec(pg, b"BEGIN READ ONLY")
            try:
                settings = pg.exec_params(
                    b"SELECT set_config('lock_timeout', $1, true),"
                    b" set_config('statement_timeout', $2, true)",
                    [lock_timeout.encode(), statement_timeout.encode()],
                )
                if settings.status != pq.ExecStatus.TUPLES_OK:
                    raise DatabaseError(
                        "invalid lock-timeout or statement-timeout: "
                        + (_field(settings, pq.DiagnosticField.MESSAGE_PRIMARY) or "unknown error")
                    )
                result = pg.prepare(b"", to_numbered_parameters(sql).encode())
                yield _verdict(result)
            finally:
                _exec(pg, b"ROLLBACK")


def _verdict(result) -> Verdict:
    from psycopg import pq

    if result.status == pq.ExecStatus.COMMAND_OK:
        return Verdict(rejected=False)
    sqlstate = _field(result, pq.DiagnosticField.SQLSTATE)
    message = _field(result, pq.DiagnosticField.MESSAGE_PRIMARY)
    hint = _field(result, pq.DiagnosticField.MESSAGE_HINT)
    log.debug("PostgreSQL: %s %s", sqlstate, message)
    return Verdict(sqlstate in UNDEFINED_CODES, sqlstate, message, hint)


def _exec(pg, command: bytes) -> None:
    from psycopg import pq

    result = pg.exec_(command)
    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        raise DatabaseError(
            f"{command.decode()} failed: {_field(result, pq.DiagnosticField.MESSAGE_PRIMARY)}"
        )


def _field(result, field, default: str | None = None) -> str | None:
    value = result.error_field(field)
    return value.decode("utf-8", "replace") if value is not None else default


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def to_numbered_parameters(sql: str) -> str:
    """Rewrite driver placeholders (`%s`, `%(name)s`, `:name`, `?`) as `$n` for PREPARE.

    Statements without driver placeholders are returned unchanged, so PostgreSQL sees the
    application's own text. A repeated named placeholder gets the same number.

    >>> to_numbered_parameters("SELECT * FROM t WHERE a = %s AND b = %(b)s AND c = %(b)s")
    'SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $2'
    >>> to_numbered_parameters("SELECT 1 WHERE 1 = $1")
    'SELECT 1 WHERE 1 = $1'
    """
    try:
        return _numbered(sql)
    except Exception:  # sqlglot raises more than SqlglotError on some valid PostgreSQL
        log.debug("cannot number the placeholders of %r", sql, exc_info=True)
        return sql


def _numbered(sql: str) -> str:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="postgres")
    placeholders = list(tree.find_all(exp.Placeholder, bfs=False))
    if not placeholders:
        return sql
    used = [int(p.name) for p in tree.find_all(exp.Parameter) if p.name.isdigit()]
    next_number = max(used, default=0)
    numbers: dict[str, int] = {}
    for node in placeholders:
        name = node.name
        if name and name not in ("?",) and name in numbers:
            number = numbers[name]
        else:
            next_number += 1
            number = next_number
            if name and name != "?":
                numbers[name] = number
        node.replace(exp.Parameter(this=exp.Literal.number(number)))
    return tree.sql(dialect="postgres")

"""Ask PostgreSQL whether a statement references an undefined table or column.

Static resolution finds candidates; where a database with the same schema is at hand, each
candidate statement is *prepared* (protocol-level Parse, which runs parse analysis and name
resolution) inside a transaction that is always rolled back, with a short `lock_timeout`
and `statement_timeout`. Nothing is ever executed.

PostgreSQL reports only the first error of a statement, so a verdict confirms a reference
only when its error names that reference: by position (when the statement went out as
written) and by identifier (`names()`). `repaired()` replaces a confirmed column reference
with NULL so the statement can be prepared again for the next one.
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
    # 0-based offset into the statement of what PostgreSQL objected to; None when it gave
    # none, or when placeholders were rewritten and offsets no longer match the original.
    position: int | None = None

    @property
    def accepted(self) -> bool:
        return self.sqlstate is None

    def names(self) -> frozenset[str]:
        """Identifiers the error message names (`column c.nosuch`, `relation "s.t"`).

        >>> sorted(Verdict(True, "42703", 'column c.nosuch does not exist').names())
        ['c', 'nosuch']
        >>> sorted(Verdict(True, "42P01", 'relation "Audit.Log" does not exist').names())
        ['Audit', 'Log']
        >>> sorted(Verdict(True, "42703", 'column "x" of relation "a" does not exist').names())
        ['a', 'x']
        """
        if not self.message:
            return frozenset()
        found: list[str] = []
        text = self.message
        # Quoted names first ("x", "s.t"), then PostgreSQL's unquoted `column t.c` form.
        found.extend(text.split('"')[1::2])
        words = text.split()
        if len(words) >= 2 and words[0] == "column" and not words[1].startswith('"'):
            found.append(words[1])
        return frozenset(piece for name in found for piece in name.split(".") if piece)


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

    from dbsafe.pg.urls import to_libpq_url

    try:
        conn = psycopg.connect(to_libpq_url(url), autocommit=True,
                               application_name="dbsafe validate", connect_timeout=10)
    except psycopg.Error as exc:
        from dbsafe.pg.urls import redact_url

        raise DatabaseError(
            f"cannot connect to {redact_url(url)} to confirm findings: {_first_line(exc)}"
        ) from None
    with conn:
        pg = conn.pgconn  # raw libpq: Parse without Bind/Execute, which psycopg has no API for
        timeouts = [lock_timeout.encode(), statement_timeout.encode()]
        batch: list[tuple[str, str]] = []
        for sql in statements:
            batch.append((sql, to_numbered_parameters(sql)))
            if len(batch) == _BATCH:
                yield from _prepare_batch(pg, batch, timeouts)
                batch = []
        if batch:
            yield from _prepare_batch(pg, batch, timeouts)


_SET_TIMEOUTS = (b"SELECT set_config('lock_timeout', $1, true),"
                 b" set_config('statement_timeout', $2, true)")
# Statements per pipeline: one round trip for the lot. Bounded so that the server's replies
# (a few hundred bytes each) always fit the socket buffers while nothing reads them yet.
_BATCH = 100


def _prepare_batch(pg, batch: list[tuple[str, str]], timeouts: list[bytes]) -> list[Verdict]:
    """Parse each statement in a READ ONLY transaction of its own with transaction-local
    timeouts, then roll it back: BEGIN, set_config, Parse, Sync, ROLLBACK, Sync per statement,
    the whole batch sent as one libpq pipeline, so one round trip for a hundred statements
    instead of four per statement. The timeouts stay transaction-local (`set_config(...,
    true)`), so a connection pooler never hands them to another client. The Sync after each
    Parse ends the error state of a rejected statement, so the ROLLBACK behind it always
    runs; no transaction is open once the verdicts are returned."""
    pg.enter_pipeline_mode()
    try:
        for _, text in batch:
            pg.send_query_params(b"BEGIN READ ONLY", None)
            pg.send_query_params(_SET_TIMEOUTS, timeouts)
            pg.send_prepare(b"", text.encode())
            pg.pipeline_sync()
            pg.send_query_params(b"ROLLBACK", None)
            pg.pipeline_sync()
        results = []
        for _ in batch:
            begin, settings, parsed = (_next_result(pg) for _ in range(3))
            _expect_sync(pg)
            rollback = _next_result(pg)
            _expect_sync(pg)
            results.append((begin, settings, parsed, rollback))
    finally:
        pg.exit_pipeline_mode()
    verdicts = []
    for (sql, text), (begin, settings, parsed, rollback) in zip(batch, results):
        _check_transaction(begin, settings, rollback)
        verdicts.append(_verdict(parsed, text == sql, text))
    return verdicts


def _check_transaction(begin, settings, rollback) -> None:
    from psycopg import pq

    ok = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
    if settings.status != pq.ExecStatus.TUPLES_OK and begin.status in ok:
        raise DatabaseError(
            "invalid lock-timeout or statement-timeout: "
            + (_field(settings, pq.DiagnosticField.MESSAGE_PRIMARY) or "unknown error"))
    for command, result in ((b"BEGIN READ ONLY", begin), (b"ROLLBACK", rollback)):
        if result.status not in ok:
            raise DatabaseError(f"{command.decode()} failed: "
                                f"{_field(result, pq.DiagnosticField.MESSAGE_PRIMARY)}")


def _next_result(pg):
    """The result of the next command in the pipeline (libpq ends each with a None)."""
    result = pg.get_result()
    if result is None:
        raise DatabaseError(f"lost the connection while confirming: {pg.error_message!r}")
    while pg.get_result() is not None:  # pragma: no cover - one result per command here
        pass
    return result


def _expect_sync(pg) -> None:
    from psycopg import pq

    result = pg.get_result()
    if result is None or result.status != pq.ExecStatus.PIPELINE_SYNC:
        raise DatabaseError("the confirming connection lost its place in the pipeline")


def _verdict(result, as_written: bool, text: str) -> Verdict:
    from psycopg import pq

    if result.status == pq.ExecStatus.COMMAND_OK:
        return Verdict(rejected=False)
    sqlstate = _field(result, pq.DiagnosticField.SQLSTATE) or "XX000"
    message = _field(result, pq.DiagnosticField.MESSAGE_PRIMARY)
    hint = _field(result, pq.DiagnosticField.MESSAGE_HINT)
    position = None
    raw = _field(result, pq.DiagnosticField.STATEMENT_POSITION)
    if as_written and raw and raw.isdigit():
        position = _char_offset(text, int(raw))
    log.debug("PostgreSQL: %s %s", sqlstate, message)
    return Verdict(sqlstate in UNDEFINED_CODES, sqlstate, message, hint, position)


def _char_offset(text: str, position: int) -> int:
    """PostgreSQL's 1-based error position counts characters (multibyte-aware): 0-based."""
    return min(max(position - 1, 0), len(text))


def points_at(verdict: Verdict, sql: str, start: int, end: int) -> bool:
    """Whether the error position lies on the reference spanning `sql[start:end + 1]`.

    PostgreSQL points at the start of the whole reference (`c` of `c.nosuch`, `s` of
    `s.t`), dbsafe at the offending identifier; anything between must be name characters.

    >>> points_at(Verdict(True, "42703", position=7), "SELECT c.nosuch FROM c", 9, 14)
    True
    >>> points_at(Verdict(True, "42703", position=7), "SELECT c, nosuch FROM c", 10, 15)
    False
    """
    if verdict.position is None:
        return True  # no position to contradict the identifier
    between = sql[verdict.position:start]
    return verdict.position <= end and all(ch.isalnum() or ch in '_$".' for ch in between)


def repaired(sql: str, verdict: Verdict, end: int) -> str | None:
    """`sql` with the column reference PostgreSQL objected to replaced by NULL, if possible.

    Only a reference in an expression is replaced (not a target column of INSERT/UPDATE).

    >>> repaired("SELECT c.nosuch, b FROM c", Verdict(True, "42703", "column c.nosuch does not exist", position=7), 14)
    'SELECT NULL, b FROM c'
    """
    message = verdict.message or ""
    if verdict.sqlstate != "42703" or verdict.position is None or not message.startswith("column "):
        return None
    if " of relation " in message or end < verdict.position:
        return None
    return sql[:verdict.position] + "NULL" + sql[end + 1:]


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
    if not any(mark in sql for mark in "%:?"):
        return sql  # no driver placeholder can be there: spare the parse
    try:
        return _numbered(sql)
    except Exception:  # sqlglot raises more than SqlglotError on some valid PostgreSQL
        log.debug("cannot number the placeholders of %r", sql, exc_info=True)
        return sql


def _numbered(sql: str) -> str:
    from sqlglot import exp
    from sqlglot.errors import ParseError

    from dbsafe.validate.resolver import parse_postgres

    # sqlglot.parse_one(sql, read="postgres"), with the resolver's tokenizer and parser.
    trees = parse_postgres(sql)
    if not trees or trees[0] is None:
        raise ParseError("no expression was parsed")
    tree = exp.Block(expressions=trees) if len(trees) > 1 else trees[0]
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

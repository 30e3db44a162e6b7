"""Ask PostgreSQL whether a statement references an undefined table or column.

Static resolution finds candidates; where a database with the same schema is at hand, each
candidate statement is *prepared* (protocol-level Parse, which runs parse analysis and name
resolution) inside a READ ONLY transaction that is always rolled back, with a short
`lock_timeout` and `statement_timeout`. Nothing is ever executed.

Driver placeholders (`%s`, `%(name)s`, `:name`, `?`, web.py's `$name`) are rewritten as `$n`
in place (`Rewrite`; `($n)` right after `IN` or `VALUES`, where the driver sends a tuple as a
list), so PostgreSQL sees the application's text otherwise unchanged and its error positions
map back onto the original statement.

PostgreSQL reports only the first error of a statement, so a verdict confirms a reference
only when its error names that reference: by position (when it can be mapped back) and by
identifier (`names()`). `repaired()` replaces a confirmed column reference with NULL so the
statement can be prepared again for the next one.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dbsafe.core import DatabaseError, first_line

log = logging.getLogger(__name__)

# web.py's placeholders: `$name`, `$obj.attr` (PostgreSQL's own are `$1`).
_NAMED_DOLLAR = re.compile(r"\$[A-Za-z_]")
UNDEFINED_CODES = frozenset({"42703", "42P01"})  # undefined_column, undefined_table
# lock_not_available (lock_timeout), deadlock_detected: Parse waited for a lock and was cut;
# no verdict on the statement (`scan._confirm` raises them: the run is to be made again).
LOCK_WAITS = frozenset({"55P03", "40P01"})
# The confirming session's name (pg_stat_activity): a guarded run watches it for the
# sessions holding what it waits for.
APPLICATION_NAME = "dbsafe validate"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What PostgreSQL said about one statement."""

    rejected: bool  # True: undefined column/table, the finding stands
    sqlstate: str | None = None
    message: str | None = None
    hint: str | None = None
    # 0-based offset into the original statement (before any rewrite) of what PostgreSQL
    # objected to; None when it gave none, or when the statement had to be regenerated to
    # number its placeholders and offsets no longer match the original.
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
        >>> sorted(Verdict(False, "42883", 'function public.get_stats(integer) does not exist').names())
        ['get_stats', 'public']
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
        if len(words) >= 2 and words[0] == "function":  # `function s.f(integer) does not exist`
            found.append(words[1].split("(", 1)[0])
        return frozenset(piece for name in found for piece in name.split(".") if piece)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A statement as sent to PostgreSQL: `original` with `edits` applied.

    Each edit is `(start, end, replacement)`, offsets inclusive into `original`, sorted and
    disjoint: placeholders become `$n`, a confirmed column reference becomes NULL. Offsets
    in the sent text map back onto `original` (`original_offset`). `generated` is the text
    sqlglot regenerated when the placeholders could not be numbered in place; offsets then
    mean nothing.

    >>> r = Rewrite("SELECT nosuch FROM t WHERE a = %s", ((31, 32, "$1"),))
    >>> r.text
    'SELECT nosuch FROM t WHERE a = $1'
    >>> r.with_edit(7, 12, "NULL").text, r.original_offset(31)
    ('SELECT NULL FROM t WHERE a = $1', 31)
    """

    original: str
    edits: tuple[tuple[int, int, str], ...] = ()
    generated: str | None = None

    @property
    def text(self) -> str:
        if self.generated is not None:
            return self.generated
        if not self.edits:
            return self.original
        pieces, last = [], 0
        for start, end, replacement in self.edits:
            pieces.append(self.original[last:start])
            pieces.append(replacement)
            last = end + 1
        pieces.append(self.original[last:])
        return "".join(pieces)

    def original_offset(self, offset: int) -> int | None:
        """Where `offset` into `text` lies in `original` (an edit's start when inside it)."""
        if self.generated is not None:
            return None
        shift = 0
        for start, end, replacement in self.edits:
            if offset < start + shift:
                break
            if offset < start + shift + len(replacement):
                return start
            shift += len(replacement) - (end - start + 1)
        return min(max(offset - shift, 0), len(self.original))

    def with_edit(self, start: int, end: int, replacement: str) -> Rewrite | None:
        """This rewrite with one more edit; None when it overlaps an earlier one."""
        if self.generated is not None or any(s <= end and start <= e for s, e, _ in self.edits):
            return None
        return Rewrite(self.original, tuple(sorted((*self.edits, (start, end, replacement)))))


def rewrite(sql: str, parsed: tuple[list, list] | None = None) -> Rewrite:
    """`sql` with its driver placeholders numbered for PREPARE, in place when possible.

    `parsed` is sqlglot's `(tokens, trees)` of `sql` when the caller has them (the
    resolver's, carried from the worker that resolved the statement), sparing a parse.
    A `PREPARE name AS statement` is sent as its statement alone: PostgreSQL's Parse of a
    PREPARE looks at nothing the statement names (that waits for the PREPARE to run), so
    it would accept every reference.
    """
    head = None
    first = _first_word(sql)
    if first == "PREPARE":
        from dbsafe.validate.resolver import prepared_statement_offset

        head = prepared_statement_offset(sql)
    elif first == "CALL":
        return _call_rewrite(sql)
    if head is None:
        return _numbered_rewrite(sql, parsed)
    # The placeholders of the statement alone: sqlglot reads a PREPARE whole as a Command,
    # so `PREPARE q AS SELECT ... WHERE id = %s` kept its `%s`, a syntax error PostgreSQL's
    # parser then "rejected" in place of the misspelt column before it.
    inner = _numbered_rewrite(sql[head:], None)
    if inner.generated is not None:
        return Rewrite(sql, generated=inner.generated)
    numbered = Rewrite(sql, tuple((start + head, end + head, replacement)
                                  for start, end, replacement in inner.edits))
    # Where the placeholders were numbered by regenerating the text, offsets mean nothing:
    # the statement alone, unnumbered, is still no PREPARE PostgreSQL would accept whole.
    return numbered.with_edit(0, head - 1, "") or Rewrite(sql, generated=sql[head:])


def _first_word(sql: str) -> str:
    """The first word of `sql` in capitals, past the comments before it (PostgreSQL's own
    lexer reads those: a sqlc query's `-- name: Archive :exec` line before its `CALL`).

    >>> _first_word("  call p(1)"), _first_word("-- name: Archive :exec\\n/* é */ CALL p(@id)")
    ('CALL', 'CALL')
    """
    head = sql.lstrip()
    if not head.startswith(("--", "/*")):
        word = _WORD.match(head)
        return word[0].upper() if word else ""
    from pglast.parser import scan

    try:
        tokens = scan(sql)
    except Exception:  # noqa: BLE001 -- any lexer failure: no word known
        return ""
    for token in tokens:  # (offsets in characters)
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            return sql[token.start:token.end + 1].upper()
    return ""


_WORD = re.compile(r"[A-Za-z_]+")


def _call_rewrite(sql: str) -> Rewrite:
    """A `CALL`'s placeholders, numbered as those of the query `SELECT <its call>` (sqlglot
    reads no CALL); unnumbered when that cannot be done in place."""
    from dbsafe.validate.resolver import CALL_AS_QUERY, called_offset

    start = called_offset(sql)
    if start is None:
        return Rewrite(sql)
    numbered = _numbered_rewrite(CALL_AS_QUERY + sql[start:], None)
    if numbered.generated is not None:
        return Rewrite(sql)
    shift = start - len(CALL_AS_QUERY)
    return Rewrite(sql, tuple((first + shift, last + shift, text)
                              for first, last, text in numbered.edits))


@dataclass(frozen=True, slots=True)
class SentParse:
    """`sql` as PostgreSQL's own parser reads it as it would be sent (`parse_as_sent`)."""

    text: str | None  # pglast's JSON of the statements; None when not read
    sent: Rewrite | None  # the rewrite that numbered its driver placeholders; None: not needed
    rejected: str | None = None  # the parser's syntax error on the statement as sent


@functools.lru_cache(maxsize=8)
def parse_as_sent(sql: str) -> SentParse:
    """`sql` read by PostgreSQL's parser (pglast): as written, else with its driver
    placeholders numbered in place (`rewrite`). Not read (`text` None) when the placeholders
    cannot be numbered in place, when the parser rejects the statement as sent (`rejected`
    says why), or on a pglast failure other than a syntax error. The last few are kept: the
    resolver and DBS314's calls (`calls`) read the same statements."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        return SentParse(parse_sql_json(sql), None)
    except ParseError:
        sent = rewrite(sql)
        if sent.generated is not None:
            return SentParse(None, sent)
        try:
            return SentParse(parse_sql_json(sent.text), sent)
        except ParseError as exc:
            return SentParse(None, sent, first_line(exc))
        except Exception:  # noqa: BLE001 - a pglast bug
            return SentParse(None, sent)
    except Exception:  # noqa: BLE001 - a pglast bug
        return SentParse(None, None)


def _numbered_rewrite(sql: str, parsed: tuple[list, list] | None) -> Rewrite:
    if not any(mark in sql for mark in "%:?") and not _NAMED_DOLLAR.search(sql):
        return Rewrite(sql)  # no driver placeholder can be there: spare the parse
    try:
        edits = placeholder_edits(sql, parsed)
        if edits is not None:
            return Rewrite(sql, edits)
        return Rewrite(sql, generated=_numbered(sql))
    except Exception:  # sqlglot raises more than SqlglotError on some valid PostgreSQL
        log.debug("cannot number the placeholders of %r", sql, exc_info=True)
        return Rewrite(sql)


def placeholder_edits(sql: str, parsed: tuple[list, list] | None = None
                      ) -> tuple[tuple[int, int, str], ...] | None:
    """The in-place edits numbering the driver placeholders of `sql`, or None when sqlglot's
    tokens do not show exactly the placeholders its parse found (then only a regenerated
    statement has them numbered).

    The placeholders are found among sqlglot's tokens (so never inside strings or
    comments) and checked against the parse: the same number, with the same names.

    >>> placeholder_edits("SELECT a FROM t WHERE a = %(x)s AND b = :x AND c = ?")
    ((26, 30, '$1'), (40, 41, '$1'), (51, 51, '$2'))
    >>> placeholder_edits("SELECT a[1:n] FROM t WHERE b = :n")  # a slice's `1:n` is no `:n`
    ((31, 32, '$1'),)
    """
    from sqlglot import exp
    from sqlglot.tokens import TokenType

    from dbsafe.validate.resolver import parse_postgres_tokens

    if parsed is None:
        parsed = parse_postgres_tokens(sql)
    tokens, trees = parsed
    placeholders: list[str] = []
    used: list[int] = []
    for tree in trees:
        if tree is None:
            continue
        placeholders.extend(node.name for node in tree.find_all(exp.Placeholder))
        for parameter in tree.find_all(exp.Parameter):
            if parameter.name.isdigit():
                used.append(int(parameter.name))
            elif isinstance(parameter.this, exp.Var):
                placeholders.append(_dotted(parameter))  # web.py's `$name`, `$obj.attr`
    if not placeholders:
        return ()
    spans: list[tuple[int, int, str]] = []
    glued: list[str] = []  # `system:keyspaces`: sqlglot's placeholder, no driver's
    count, i = len(tokens), 0
    while i < count:
        token = tokens[i]
        kind = token.token_type
        if kind == TokenType.PARAMETER and token.text == "$" and i + 1 < count and \
                tokens[i + 1].start == token.end + 1 and tokens[i + 1].token_type == TokenType.VAR:
            j, name = i + 1, tokens[i + 1].text
            while (j + 2 < count and tokens[j + 1].token_type == TokenType.DOT
                   and tokens[j + 1].start == tokens[j].end + 1
                   and tokens[j + 2].start == tokens[j + 1].end + 1):
                name, j = f"{name}.{tokens[j + 2].text}", j + 2
            spans.append((token.start, tokens[j].end, name))
            i = j
        elif kind == TokenType.PLACEHOLDER and token.text == "?":
            spans.append((token.start, token.end, "?"))
        elif kind == TokenType.MOD:  # %s, %(name)s
            j, name = i + 1, "?"
            if (j + 2 < count and tokens[j].token_type == TokenType.L_PAREN
                    and tokens[j + 2].token_type == TokenType.R_PAREN
                    and tokens[j].start == token.end + 1):
                name, j = tokens[j + 1].text, j + 3
            if j < count and tokens[j].text in ("s", "S") and tokens[j].start == tokens[j - 1].end + 1:
                spans.append((token.start, tokens[j].end, name))
                i = j
        elif kind == TokenType.COLON and i + 1 < count:  # :name
            following = tokens[i + 1]
            if following.start == token.end + 1 and (following.text[:1].isalpha()
                                                      or following.text[:1] == "_"):
                if _glued(sql, token.start):
                    glued.append(following.text)
                else:
                    spans.append((token.start, following.end, following.text))
                i += 1
        i += 1
    found = sorted(name for *_, name in spans)
    if found != sorted(placeholders) and sorted(found + glued) != sorted(placeholders):
        return None
    next_number = max(used, default=0)
    numbers: dict[str, int] = {}
    edits = []
    after_in = {tokens[k + 1].start for k in range(count - 1)
                if tokens[k].token_type in (TokenType.IN, TokenType.VALUES)}
    for start, end, name in spans:
        if name != "?" and name in numbers:
            number = numbers[name]
        else:
            next_number += 1
            number = next_number
            if name != "?":
                numbers[name] = number
        # `IN %s`, `VALUES %s`: the driver sends the tuple bound there as `(1, 2)` (psycopg2's
        # `execute_values` the rows, `(1, 2), (3, 4)`).
        edits.append((start, end, f"(${number})" if start in after_in else f"${number}"))
    return tuple(edits)


def _glued(sql: str, colon: int) -> bool:
    """Whether the `:` at `colon` follows a word character, another `:` or a backslash: no
    driver binds a `:name` there (SQLAlchemy's `text()` reads binds with
    `(?<![:\\w\\x5c]):(\\w+)(?![:\\w])`), so it reaches PostgreSQL as written
    (`system:keyspaces`, `arr[1:n]`).

    >>> _glued("FROM system:keyspaces", 11), _glued("WHERE a = :a", 10)
    (True, False)
    """
    before = sql[colon - 1:colon]
    return before == ":" or before == "\\" or before.isalnum() or before == "_"


def _dotted(parameter) -> str:
    """`i.olid` for web.py's `$i.olid` (sqlglot: a Dot over the Parameter `i`)."""
    from sqlglot import exp

    name, node = parameter.name, parameter
    while isinstance(node.parent, exp.Dot) and node.parent.this is node:
        node = node.parent
        name = f"{name}.{node.expression.name}"
    return name


def confirm(
    url: str,
    statements: Sequence[str | Rewrite],
    *,
    lock_timeout: str = "2s",
    statement_timeout: str = "5s",
) -> list[Verdict]:
    """Prepare each statement on `url` and report PostgreSQL's verdict, in order."""
    return list(_confirm_iter(url, statements, lock_timeout, statement_timeout))


def _confirm_iter(
    url: str, statements: Iterable[str | Rewrite], lock_timeout: str, statement_timeout: str
) -> Iterator[Verdict]:
    with Session(url, lock_timeout=lock_timeout, statement_timeout=statement_timeout) as session:
        yield from session.verdicts(statements)


class Session:
    """One connection for every statement a run confirms (repair rounds included)."""

    def __init__(self, url: str, *, lock_timeout: str = "2s",
                 statement_timeout: str = "5s",
                 search_path: Sequence[str] | None = None) -> None:
        self.url = url
        self.timeouts = [lock_timeout.encode(), statement_timeout.encode()]
        if search_path is not None:
            # The application's sessions' path (validate's `search-path`), over the URL's
            # and the role's: set with the timeouts, for each transaction only.
            from dbsafe.schema.introspect import search_path_setting

            self.timeouts.append(search_path_setting(search_path).encode())
        self.conn = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _pg(self):
        if self.conn is None:
            import psycopg

            from dbsafe.pg.urls import to_libpq_url

            try:
                self.conn = psycopg.connect(to_libpq_url(self.url), autocommit=True,
                                            application_name=APPLICATION_NAME,
                                            connect_timeout=10)
            except psycopg.Error as exc:
                from dbsafe.pg.urls import redact_url

                raise DatabaseError(f"cannot connect to {redact_url(self.url)} to confirm "
                                    f"findings: {first_line(exc)}") from None
        # raw libpq: Parse without Bind/Execute, which psycopg has no API for
        return self.conn.pgconn

    def verdicts(self, statements: Iterable[str | Rewrite]) -> Iterator[Verdict]:
        """PostgreSQL's verdict on each statement, in order, a batch at a time."""
        batch: list[Rewrite] = []
        for sql in statements:
            batch.append(rewrite(sql) if isinstance(sql, str) else sql)
            if len(batch) == _BATCH:
                yield from _prepare_batch(self._pg(), batch, self.timeouts)
                batch = []
        if batch:
            yield from _prepare_batch(self._pg(), batch, self.timeouts)

    def judged_after(self, groups: Iterable[tuple[Sequence[str], Rewrite]]
                     ) -> Iterator[Verdict | None]:
        """PostgreSQL's verdict on each group's statement, prepared after the group's
        `CREATE TEMP TABLE`s ran (`validate.temp_tables`: nothing else may be given here),
        each group in a savepoint rolled back; None where one of them failed (or the
        statement waited for a lock: no verdict)."""
        batch: list[tuple[Sequence[str], Rewrite]] = []
        for group in groups:
            batch.append(group)
            if len(batch) == _BATCH:
                yield from _judge_batch(self._pg(), batch, self.timeouts)
                batch = []
        if batch:
            yield from _judge_batch(self._pg(), batch, self.timeouts)


_SET_TIMEOUTS = (b"SELECT set_config('lock_timeout', $1, true),"
                 b" set_config('statement_timeout', $2, true)")
_SET_TIMEOUTS_AND_PATH = _SET_TIMEOUTS + b", set_config('search_path', $3, true)"
_SAVEPOINT = b"SAVEPOINT dbsafe_candidate"
_BACK_TO_SAVEPOINT = b"ROLLBACK TO SAVEPOINT dbsafe_candidate"
# Statements per pipeline: one round trip for the lot. Bounded so that the server's replies
# (a few hundred bytes each) always fit the socket buffers while nothing reads them yet.
_BATCH = 100


def _prepare_batch(pg, batch: list[Rewrite], timeouts: list[bytes]) -> list[Verdict]:
    """Parse each statement of the batch in one READ ONLY transaction, rolled back.

    The whole batch goes out as one libpq pipeline (one round trip): BEGIN READ ONLY,
    transaction-local timeouts (`set_config(..., true)`, so a connection pooler never hands
    them to another client) and a savepoint, Sync; then per statement Parse, Sync (which
    ends the error state of a rejected statement) and ROLLBACK TO the savepoint (which
    releases the locks parse analysis took and leaves the transaction usable again); finally
    ROLLBACK, Sync. Three messages per statement instead of the six of a transaction each;
    no transaction is open once the verdicts are returned."""
    _, parsed = _parsed_in_savepoints(pg, b"BEGIN READ ONLY", [((), s) for s in batch],
                                      timeouts)
    return [_verdict(result, statement) for statement, result in zip(batch, parsed)]


def _parsed_in_savepoints(pg, begin: bytes, batch: Sequence[tuple[Sequence[bytes], Rewrite]],
                          timeouts: list[bytes]) -> tuple[list[list[Any]], list[Any]]:
    """The pipeline `_prepare_batch` says, opened by `begin`, with each statement's own
    commands (`batch`: (commands, statement)) run in its savepoint before its Parse: their
    results and the Parse's, per statement. Raises `DatabaseError` where the transaction,
    its settings or a savepoint failed."""
    pg.enter_pipeline_mode()
    try:
        pg.send_query_params(begin, None)
        pg.send_query_params(_SET_TIMEOUTS if len(timeouts) == 2 else _SET_TIMEOUTS_AND_PATH,
                             timeouts)
        pg.send_query_params(_SAVEPOINT, None)
        pg.pipeline_sync()
        for commands, statement in batch:
            for command in commands:
                pg.send_query_params(command, None)
            pg.send_prepare(b"", statement.text.encode())
            pg.pipeline_sync()
            pg.send_query_params(_BACK_TO_SAVEPOINT, None)
        pg.send_query_params(b"ROLLBACK", None)
        pg.pipeline_sync()
        _sent(pg)
        began, settings, savepoint = (_next_result(pg) for _ in range(3))
        _expect_sync(pg)
        ran, parsed, back = [], [], []
        for commands, _ in batch:
            ran.append([_next_result(pg) for _ in commands])
            parsed.append(_next_result(pg))
            _expect_sync(pg)
            back.append(_next_result(pg))
        rollback = _next_result(pg)
        _expect_sync(pg)
    finally:
        pg.exit_pipeline_mode()
    _check_transaction(begin, began, settings,
                       [(b"SAVEPOINT", savepoint), (b"ROLLBACK", rollback)]
                       + [(b"ROLLBACK TO SAVEPOINT", result) for result in back])
    return ran, parsed


def _judge_batch(pg, batch: list[tuple[Sequence[str], Rewrite]],
                 timeouts: list[bytes]) -> list[Verdict | None]:
    """`_prepare_batch` for statements reading temporary tables: per statement, in the
    savepoint, the `CREATE TEMP TABLE`s making them run first (the only statements ever run:
    a temporary table goes with the savepoint, and nothing else is written; a `CREATE TABLE
    ... AS` comes `WITH NO DATA`, its query not run), then `SET TRANSACTION READ ONLY`, then
    the statement's Parse; ROLLBACK TO the savepoint. Not `BEGIN READ ONLY`, in which
    PostgreSQL makes no table, temporary or not: a session whose transactions are read-only
    by default (a standby, `default_transaction_read_only`) makes none either, and its
    statements have no verdict."""
    from psycopg import pq

    made, parsed = _parsed_in_savepoints(
        pg, b"BEGIN", [([create.encode() for create in creates] + [b"SET TRANSACTION READ ONLY"],
                        statement) for creates, statement in batch], timeouts)
    verdicts: list[Verdict | None] = []
    for (_, statement), results, result in zip(batch, made, parsed):
        if any(r.status != pq.ExecStatus.COMMAND_OK for r in results):
            log.debug("PostgreSQL did not make the temporary tables of %r: %s",
                      statement.original[:200],
                      next((_field(r, pq.DiagnosticField.MESSAGE_PRIMARY) for r in results
                            if r.status != pq.ExecStatus.COMMAND_OK), None))
            verdicts.append(None)
            continue
        verdict = _verdict(result, statement)
        verdicts.append(None if verdict.sqlstate in LOCK_WAITS else verdict)
    return verdicts


def _check_transaction(opened_by: bytes, begin, settings, others) -> None:
    from psycopg import pq

    ok = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
    if settings.status != pq.ExecStatus.TUPLES_OK and begin.status in ok:
        raise DatabaseError(
            "invalid lock-timeout or statement-timeout: "
            + (_field(settings, pq.DiagnosticField.MESSAGE_PRIMARY) or "unknown error"))
    for command, result in ((opened_by, begin), *others):
        if result.status not in ok:
            raise DatabaseError(f"{command.decode()} failed: "
                                f"{_field(result, pq.DiagnosticField.MESSAGE_PRIMARY)}")


def _sent(pg) -> None:
    """What is left of the batch in libpq's buffer sent (a nonblocking connection sends
    what the socket takes), waiting with Python's lock released, as `_answered` does."""
    import select

    import psycopg

    try:
        while pg.flush():
            select.select([pg.socket], [pg.socket], [])
            pg.consume_input()
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"lost the connection while confirming: {first_line(exc)}"
                            ) from None


def _answered(pg) -> None:
    """Wait until the server's next answer is in, with Python's lock released (`select`):
    libpq's own wait, inside PQgetResult, holds it, and while a Parse waited for a lock
    no other thread ran (a guarded run's blocker watch, looking for who holds the lock)."""
    if not pg.is_busy():  # in already: most answers of a batch come in one read
        return
    import select

    import psycopg

    try:
        while pg.is_busy():
            select.select([pg.socket], [], [])
            pg.consume_input()
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"lost the connection while confirming: {first_line(exc)}"
                            ) from None


def _next_result(pg):
    """The result of the next command in the pipeline (libpq ends each with a None)."""
    _answered(pg)
    result = pg.get_result()
    if result is None:
        raise DatabaseError(f"lost the connection while confirming: {pg.error_message!r}")
    while pg.get_result() is not None:  # pragma: no cover - one result per command here
        pass
    return result


def _expect_sync(pg) -> None:
    from psycopg import pq

    _answered(pg)
    result = pg.get_result()
    if result is None or result.status != pq.ExecStatus.PIPELINE_SYNC:
        raise DatabaseError("the confirming connection lost its place in the pipeline")


def _verdict(result, statement: Rewrite) -> Verdict:
    from psycopg import pq

    if result.status == pq.ExecStatus.COMMAND_OK:
        return Verdict(rejected=False)
    sqlstate = _field(result, pq.DiagnosticField.SQLSTATE) or "XX000"
    message = _field(result, pq.DiagnosticField.MESSAGE_PRIMARY)
    hint = _field(result, pq.DiagnosticField.MESSAGE_HINT)
    position = None
    raw = _field(result, pq.DiagnosticField.STATEMENT_POSITION)
    if raw and raw.isdigit():
        text = statement.text
        position = statement.original_offset(_char_offset(text, int(raw)))
    log.debug("PostgreSQL: %s %s", sqlstate, message)
    return Verdict(sqlstate in UNDEFINED_CODES, sqlstate, message, hint, position)


def _char_offset(text: str, position: int) -> int:
    """PostgreSQL's 1-based error position counts characters (multibyte-aware): 0-based."""
    return min(max(position - 1, 0), len(text))


def points_at(verdict: Verdict, sql: str, start: int, end: int) -> bool:
    """Whether the error position lies on the reference spanning `sql[start:end + 1]`.

    PostgreSQL points at the start of the whole reference (`c` of `c.nosuch`, `s` of
    `s.t`, the quote of `'s.t'::regclass`, `(` or `c` of a field `(c).nosuch`), dbsafe at
    the offending identifier; anything between must be name characters or those parentheses.

    >>> points_at(Verdict(True, "42703", position=7), "SELECT c.nosuch FROM c", 9, 14)
    True
    >>> points_at(Verdict(True, "42703", position=7), "SELECT c, nosuch FROM c", 10, 15)
    False
    >>> points_at(Verdict(True, "42703", position=7), "SELECT (c).nosuch FROM t", 11, 16)
    True
    """
    if verdict.position is None:
        return True  # no position to contradict the identifier
    between = sql[verdict.position:start]
    return verdict.position <= end and all(ch.isalnum() or ch in '_$".\'()' for ch in between)


def reference_end(sql: str, position: int) -> int | None:
    """Where the name reference PostgreSQL's error points at (`position`, 0-based) ends in
    `sql` (inclusive): its identifiers joined by dots, read by PostgreSQL's own lexer; None
    when no name starts there (`(c).nosuch`'s parenthesis).

    >>> sql = 'SELECT s.nosuch, "Ab" FROM t'
    >>> sql[7:reference_end(sql, 7) + 1], sql[17:reference_end(sql, 17) + 1], reference_end(sql, 15)
    ('s.nosuch', '"Ab"', None)
    """
    from pglast.parser import scan

    try:
        tokens = [t for t in scan(sql) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    except Exception:  # noqa: BLE001 -- any lexer failure: no reference known
        return None
    start = next((i for i, token in enumerate(tokens) if token.start == position), None)
    if start is None or not _name_token(tokens[start]):
        return None
    end = start
    while end + 2 < len(tokens) and tokens[end + 1].name == "ASCII_46" and \
            _name_token(tokens[end + 2]):
        end += 2
    return tokens[end].end


def _name_token(token) -> bool:
    return token.name == "IDENT" or token.kind in ("UNRESERVED_KEYWORD", "COL_NAME_KEYWORD",
                                                   "TYPE_FUNC_NAME_KEYWORD")


def repaired(statement: Rewrite, verdict: Verdict, end: int) -> Rewrite | None:
    """`statement` to send again with the column reference PostgreSQL objected to (from its
    error position to `end`, offsets into `statement.original`) replaced by NULL, so that
    its next error shows; None where it cannot be: not an undefined column, no position, a
    target column of INSERT/UPDATE (only a reference in an expression is replaced), or an
    edit already made there. Both PostgreSQL's confirmations of the resolver's candidates
    (`scan._confirm`) and its judging of statements after temporary tables were made
    (`scan._judge_after_temp_tables`) go round after round so.

    >>> repaired(Rewrite("SELECT c.nosuch, b FROM c"), Verdict(True, "42703", "column c.nosuch does not exist", position=7), 14).text
    'SELECT NULL, b FROM c'
    >>> repaired(Rewrite("INSERT INTO t (nosuch) VALUES (1)"), Verdict(True, "42703", 'column "nosuch" of relation "t" does not exist', position=15), 20)
    """
    message = verdict.message or ""
    if verdict.sqlstate != "42703" or verdict.position is None or not message.startswith("column "):
        return None
    if " of relation " in message or end < verdict.position:
        return None
    return statement.with_edit(verdict.position, end, "NULL")


def _field(result, field, default: str | None = None) -> str | None:
    value = result.error_field(field)
    return value.decode("utf-8", "replace") if value is not None else default




def to_numbered_parameters(sql: str) -> str:
    """Rewrite driver placeholders (`%s`, `%(name)s`, `:name`, `?`) as `$n` for PREPARE.

    Statements without driver placeholders are returned unchanged, so PostgreSQL sees the
    application's own text. A repeated named placeholder gets the same number.

    >>> to_numbered_parameters("SELECT * FROM t WHERE a = %s AND b = %(b)s AND c = %(b)s")
    'SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $2'
    >>> to_numbered_parameters("SELECT 1 WHERE 1 = $1")
    'SELECT 1 WHERE 1 = $1'
    """
    return rewrite(sql).text


def _numbered(sql: str) -> str:
    from sqlglot import exp
    from sqlglot.errors import ParseError

    from dbsafe.validate.resolver import _parse_overloads_as_calls, _postgres, tokenize_postgres

    # The fallback of `rewrite`: sqlglot.parse_one(sql, read="postgres") with the resolver's
    # tokenizer and parser, on a parse of its own (this one modifies the tree).
    trees = _parse_overloads_as_calls(_postgres()[1], tokenize_postgres(sql), sql)
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

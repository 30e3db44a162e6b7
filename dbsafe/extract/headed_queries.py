"""Queries one after another with no `;` between them, each under a comment of its own.

Some projects keep the SQL their query builder compiles as a `.sql` file to read and review:
Immich's `server/src/queries/*.sql`, which its sql-generator writes from its Kysely
repositories, hold one query per method, each under a comment naming it
(`-- AlbumRepository.getById`), separated by a blank line and never ended by `;`. psql
would send the whole file as one statement, which PostgreSQL's grammar rejects where the
second query begins; read so, not one of its queries would be validated.

Such a statement (only one holding a header: a blank line, then a comment line) is split
where PostgreSQL's parser says it cannot go on. Where the grammar rejects a token, the
statement ends at the end of a line before it when the text up to there is one whole
statement PostgreSQL parses by itself and the rest does not begin with a token no statement
can begin with (`where`, `from`: one statement broken, not two). The lines tried are those
under a header first, then the others, each the latest first. Nothing is split by words:
each piece is one statement PostgreSQL's grammar accepts, and a statement broken inside
(Immich's `update "asset" set where ...`) stays whole, to be reported as unparsable.
"""

from __future__ import annotations

import re

from dbsafe.extract.fragment import SqlFragment

# A blank line, then a line opening with a `--` comment: the header of the next query.
_HEADER = re.compile(r"\n[ \t\r\f\v]*\n(?:[ \t\r\f\v]*\n)*[ \t]*--")
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
# The lines tried as the next query's start where the grammar rejects a token: each try
# parses the text before it, so a long statement rejected far down (another engine's dump)
# must not cost a parse per line. Immich's need the first or the second.
_MOST_TRIED = 16


def headed_queries(fragment: SqlFragment) -> list[SqlFragment]:
    """The statements of `fragment`, when it is several queries without `;` between them
    under comment headers; `[fragment]` otherwise.

    >>> text = "-- A.get\\nselect 1 from t\\n\\n-- A.list\\nbegin\\nupdate u set a = 1\\ncommit"
    >>> [f.sql for f in headed_queries(SqlFragment("q.sql", text, ((0, 1, 1),)))]
    ['-- A.get\\nselect 1 from t', 'begin', 'update u set a = 1', 'commit']
    >>> [f.sql for f in headed_queries(SqlFragment("q.sql", "select 1\\n\\n-- why\\nfrom t", ()))]
    ['select 1\\n\\n-- why\\nfrom t']
    """
    sql = fragment.sql
    if _HEADER.search(sql) is None:  # most statements: no parse at all
        return [fragment]
    from pglast import parser

    bounds: list[tuple[int, int]] = []
    start = 0
    rejected = _rejected_at(parser, sql)
    while rejected:  # None: the rest parses (or fails where no split helps); 0: see below
        stop = start + rejected
        for following, end in _line_starts(parser, sql, start, stop)[:_MOST_TRIED]:
            if not _one_statement(parser, sql[start:end]):
                continue
            # The rest must begin a statement where it starts: `where ...` cannot (a
            # statement broken across lines, not two of them).
            rest = _rejected_at(parser, sql[following:])
            if rest == 0:
                continue
            bounds.append((start, end))
            start, rejected = following, rest
            break
        else:
            # Broken before the parser's stop: the query ends at the next header, whole and
            # unparsable, and the next one is read on its own.
            resumed = _after_next_header(parser, sql, stop)
            if resumed is None:
                break
            end, following, rest = resumed
            bounds.append((start, end))
            start, rejected = following, rest
    if not bounds:
        return [fragment]
    return [fragment.sub(a, b) for a, b in [*bounds, (start, len(sql))]]


def _after_next_header(parser, sql: str, stop: int) -> tuple[int, int, int | None] | None:
    """(the end of the last token before the next header after `stop`, the first token
    after that header, where the grammar rejects the text from there), when that text
    begins a statement."""
    header = _HEADER.search(sql, stop)
    if header is None:
        return None
    after = _significant(parser, sql, header.start(), len(sql))
    before = _significant(parser, sql, stop, header.start())
    if not after:
        return None
    following = header.start() + after[0].start
    rest = _rejected_at(parser, sql[following:])
    if rest == 0:
        return None
    end = stop + before[-1].end + 1 if before else stop
    return end, following, rest


def _rejected_at(parser, sql: str) -> int | None:
    """The offset of the token PostgreSQL's grammar rejects in `sql`; None when it parses,
    or fails at its end or in its lexer."""
    try:
        _statements(parser, sql)
    except parser.ParseError as exc:
        at = exc.args[1] if len(exc.args) > 1 else None
        return at if isinstance(at, int) else None
    return None


def _significant(parser, sql: str, start: int, end: int) -> list:
    """The tokens of `sql[start:end]` that are not comments ([] when its lexer refuses it)."""
    try:
        return [t for t in parser.scan(sql[start:end]) if t.name not in _COMMENTS]
    except parser.ParseError:
        return []


def _one_statement(parser, sql: str) -> bool:
    """Whether `sql` is one statement PostgreSQL parses by itself."""
    try:
        return len(_statements(parser, sql)) == 1
    except parser.ParseError:
        return False


def _statements(parser, sql: str) -> tuple[slice, ...]:
    """Where each statement of `sql` lies, as PostgreSQL's parser reads them (its parse
    tree is not built into Python objects: that cost seconds on a long statement)."""
    return parser.split(sql, with_parser=True, only_slices=True)


def _line_starts(parser, sql: str, start: int, stop: int) -> list[tuple[int, int]]:
    """Where the next statement may begin, with the end of the last token before it: the
    first token of each line from the one after `start`'s up to the one holding the
    rejected token at `stop`. Not only that token's line: the parser may have read the next
    statement's first word as an alias of the last one's (`from t` / `begin`, `returning
    "role"` / `update "a"`). Those under a header (a blank line and a comment line) come
    first, then the others, each latest first: PostgreSQL's grammar accepts more ends than a
    reader sees (`select` alone is a statement, so `select` / `("a")::text as "b"` would
    read as two)."""
    headed: list[tuple[int, int]] = []
    others: list[tuple[int, int]] = []
    after = start  # the end of the token before
    for token in [*_significant(parser, sql, start, stop), None]:
        at = stop if token is None else start + token.start
        line_start = sql.rfind("\n", start, at) + 1
        if after > start and line_start > start and not sql[line_start:at].strip():
            (headed if _HEADER.search(sql, after, at) else others).append((at, after))
        if token is not None:
            after = start + token.end + 1  # pglast's offsets count characters, `end` included
    return [*reversed(headed), *reversed(others)]

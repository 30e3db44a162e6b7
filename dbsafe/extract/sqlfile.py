"""Statements in `.sql` files: split a script the way psql would, keeping exact positions.

The splitter is a small hand-written scanner rather than sqlglot's tokenizer, because a
`.sql` file is a *psql script*, not just SQL: it may hold meta-commands (`\\set`, `\\i`)
and `COPY ... FROM stdin` data, neither of which is SQL, and a tokenizer stops at the first
character it does not understand, losing the rest of the file. Splitting only needs to
know where strings, identifiers, comments and dollar-quoted bodies begin and end, which is
what this scanner tracks; it never interprets the statements. The few compiled patterns
below match single tokens (a word, a dollar-quote tag, the inside of an `E'...'` string)
at a known position; they are lexer primitives, not regexes over SQL.

The rules follow psql's own lexer (`psqlscan.l`): a `;` ends a statement only outside
parentheses, and inside `CREATE [OR REPLACE] FUNCTION|PROCEDURE` it only ends one once
every `BEGIN` (`BEGIN ATOMIC` bodies, PostgreSQL 14+) is closed by its `END`, counting
`CASE ... END` pairs inside such a body.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from dbsafe.extract.fragment import SqlFragment

# A word starts with a letter, `_` or any non-ASCII character and goes on with those, digits
# and `$` (psql's ident_start/ident_cont). Written as "not an ASCII character that cannot":
# the same sets, but a class ranging to U+10FFFF takes the `re` compiler some 15 ms, which
# every run paid at import.
_WORD = re.compile(r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*")
_DOLLAR_TAG = re.compile(r"\$(?:[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)?\$")
# The rest of an E'...' string after its opening quote: backslash escapes anything,
# including a quote, and '' is a quote too.
_E_STRING_REST = re.compile(r"(?:[^'\\]|\\.|'')*'", re.DOTALL)
_COMMENT_DELIMITER = re.compile(r"/\*|\*/")
# A psql variable where psql's lexer substitutes one (`psqlscan.l`): `:'name'` (its value
# as a quoted literal), `:"name"` (as a quoted identifier), `:{?name}` (whether it is set)
# and `:name` (its text as it is). The name is psql's variable_char: letters, digits, `_`
# and every non-ASCII character.
_VARIABLE_NAME = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]+"
PSQL_VARIABLE = re.compile(
    rf":(?:'(?P<literal>{_VARIABLE_NAME})'|\"(?P<identifier>{_VARIABLE_NAME})\""
    rf"|\{{\?(?P<test>{_VARIABLE_NAME})\}}|(?P<raw>{_VARIABLE_NAME}))")
# Once a statement's words no longer matter (`_Scanner.plain`), the scanner jumps to the next
# character that can start or end anything it tracks: a line, a comment, a meta-command, a
# statement, a string or identifier, a dollar quote, a parenthesis, a psql variable.
_PLAIN_STOP = re.compile(r"[\n\-/\\;'\"$():]")
# Characters that go on a word (`_WORD`'s second class): ASCII letters, digits, `_`, `$`, and
# every non-ASCII character.
_WORD_ASCII = frozenset("$_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SPACE = " \t\r\f\v"
_FUNCTION_MARKS = {"create": "c", "or": "o", "replace": "r", "function": "f", "procedure": "p"}


def split_sql(text: str, path: str, *, psql_variables: bool = False) -> list[SqlFragment]:
    """Split a psql script into statements, each with a map back to the file.

    Each fragment's `sql` is the statement exactly as written, from its first character
    that is not blank or comment to its last one before the terminating `;` (exclusive).
    Comment-only chunks, empty statements, psql meta-command lines and `COPY ... FROM
    stdin` data are dropped.

    Args:
        text: The file's content.
        path: Path recorded in each fragment (repository-relative, POSIX separators).
        psql_variables: Write psql's `:'name'` (a variable psql puts there as a quoted
            literal) as the placeholder `:name`, for validation; statements that will be
            run or linted keep it as written (a script psql runs is read by
            `dbsafe.extract.psql`, which puts the variables' values there).

    Returns:
        The statements in file order.

    Example:
        >>> [f.sql for f in split_sql("SELECT ';'; -- done\\n/* x; */ SELECT 2;", "a.sql")]
        ["SELECT ';'", 'SELECT 2']
        >>> split_sql("SELECT 1;\\n  SELECT 2", "a.sql")[1].location(7)
        Location(path='a.sql', line=2, column=10, end_line=None, end_column=None)
    """
    line_starts = line_starts_of(text)
    scanner = _Scanner(text)
    found = scanner.psql_variables  # in file order, as the statements come
    fragments = []
    for start, end in scanner.run():
        fragment = cut_fragment(text, start, end, path, line_starts)
        if psql_variables and found:
            inside = found[bisect.bisect_left(found, (start,)):bisect.bisect_left(found, (end,))]
            literals = [at - start for at, _, kind, _ in inside if kind == "literal"]
            if literals:
                fragment = replace(fragment, sql=_as_placeholders(fragment.sql, literals))
        fragments.append(fragment)
    return fragments


def line_starts_of(text: str) -> list[int]:
    """The offset each line of `text` starts at."""
    starts = [0]
    newline = text.find("\n")
    while newline != -1:
        starts.append(newline + 1)
        newline = text.find("\n", newline + 1)
    return starts


def _as_placeholders(sql: str, literals: list[int]) -> str:
    """`sql` with each psql `:'name'` at the offsets `literals` written `:name` and two
    blanks: the same length, so positions hold, and a placeholder to SQL parsers (psql
    puts a quoted value there, never a name).

    >>> _as_placeholders("SELECT a FROM t WHERE id = :'uid'", [27])
    'SELECT a FROM t WHERE id = :uid  '
    """
    return _rewrite_variables(sql, literals, lambda name: f":{name}  ")


def _rewrite_variables(sql: str, literals: list[int], written: Callable[[str], str]) -> str:
    """`sql` with each psql `:'name'` at the offsets `literals` replaced by `written(name)`
    (as long as it, so positions hold)."""
    parts = []
    last = 0
    for at in literals:
        close = sql.index("'", at + 2)
        parts += [sql[last:at], written(sql[at + 2:close])]
        last = close + 1
    return "".join([*parts, sql[last:]])


@dataclass(frozen=True, slots=True)
class PsqlScan:
    """Where the statements, psql variables and meta-commands of a psql script are."""

    statements: tuple[tuple[int, int], ...]  # (start, end) each, as `statement_bounds`
    # (start, end, kind, name) each: kind "literal" `:'name'`, "identifier" `:"name"`,
    # "test" `:{?name}` or "raw" `:name`; only where psql's lexer substitutes one.
    variables: tuple[tuple[int, int, str, str], ...]
    meta_commands: tuple[tuple[int, int], ...]  # (start, end) of each backslash command line


def scan_psql(text: str) -> PsqlScan:
    """Statements, psql variables and meta-commands of a psql script, by offset.

    >>> scan = scan_psql("CREATE SCHEMA :\\"s\\"; -- :x\\n\\\\ir b.sql\\nSELECT ':x', :y::int")
    >>> scan.statements, scan.variables, scan.meta_commands
    (((0, 18), (36, 56)), ((14, 18, 'identifier', 's'), (49, 51, 'raw', 'y')), ((26, 35),))
    """
    scanner = _Scanner(text)
    statements = tuple(scanner.run())
    return PsqlScan(statements, tuple(scanner.psql_variables), tuple(scanner.meta_commands))


def statement_bounds(text: str, *, skip_plain: bool = True) -> Iterator[tuple[int, int]]:
    """Yield `(start, end)` offsets of each statement in a psql script (`end` exclusive).

    `skip_plain=False` reads every character one by one even where no word matters any more
    (the tests compare both ways).

    Example:
        >>> list(statement_bounds("select $$a;b$$; ; select 2"))
        [(0, 14), (18, 26)]
    """
    scanner = _Scanner(text, skip_plain=skip_plain)
    yield from scanner.run()


class _Scanner:
    """One pass over a script; the state psql's lexer keeps between tokens."""

    __slots__ = (
        "begin_depth",
        "copy_from",
        "copy_stdin",
        "first_word",
        "last_end",
        "marks",
        "meta_commands",
        "paren_depth",
        "plain",
        "psql_variables",
        "skip_plain",
        "start",
        "text",
        "word_count",
    )

    def __init__(self, text: str, *, skip_plain: bool = True) -> None:
        self.text = text
        self.skip_plain = skip_plain
        # Each psql variable psql would substitute: (start, end, kind, name), kind one of
        # `PSQL_VARIABLE`'s groups ("literal", "identifier", "test", "raw").
        self.psql_variables: list[tuple[int, int, str, str]] = []
        self.meta_commands: list[tuple[int, int]] = []  # each meta-command's line (start, end)
        self._reset()

    def _reset(self) -> None:
        self.start = -1  # first significant character of the current statement
        self.last_end = -1  # end of the last significant token
        self.paren_depth = 0
        self.begin_depth = 0
        self.marks = ["", "", "", ""]  # psql's CREATE [OR REPLACE] FUNCTION detector
        self.word_count = 0
        self.first_word = ""
        self.copy_from = False
        self.copy_stdin = False
        # No word matters to the rest of this statement: its first four words made it
        # neither a function or procedure (BEGIN ... END bodies) nor a COPY (FROM stdin).
        self.plain = False

    def _flush(self) -> tuple[int, int] | None:
        bounds = (self.start, self.last_end) if self.start >= 0 else None
        self._reset()
        return bounds

    def run(self) -> Iterator[tuple[int, int]]:
        text = self.text
        n = len(text)
        i = 0
        line_blank = True  # only blanks since the last newline: a backslash starts a meta-command
        while i < n:
            if self.plain:
                i, line_blank = self._skip_plain(i, line_blank)
                if i >= n:
                    break
            c = text[i]
            if c == "\n":
                line_blank = True
                i += 1
                continue
            if c in _SPACE:
                i += 1
                continue
            nxt = text[i + 1] if i + 1 < n else ""
            if c == "-" and nxt == "-":
                end = text.find("\n", i)
                i = n if end == -1 else end
                continue
            if c == "/" and nxt == "*":
                i = self._skip_block_comment(i)
                continue
            if c == "\\" and (line_blank or nxt not in ";:"):
                # psql meta-command: runs to the end of the line and is not SQL. It also
                # ends the statement being typed, as `\g` and friends do. psql's lexer
                # starts one at any backslash outside quotes and comments, after SQL on its
                # line too (pgTAP tests' `select id from runs limit 1 \gset`), but `\;`
                # and `\:`, which it reads as `;` and `:` of the statement.
                bounds = self._flush()
                if bounds:
                    yield bounds
                end = text.find("\n", i)
                self.meta_commands.append((i, n if end == -1 else end))
                i = n if end == -1 else end
                continue
            line_blank = False
            if c == ";" and self.paren_depth == 0 and self.begin_depth == 0:
                copy_data = self.copy_stdin
                bounds = self._flush()
                if bounds:
                    yield bounds
                i += 1
                if copy_data:
                    i = self._skip_copy_data(i)
                    line_blank = True
                continue
            if self.start < 0:
                self.start = i
            if c == "'":
                i = self._skip_quoted(i, "'")
            elif c == ":":
                i = i + 2 if nxt == ":" else self._colon(i)  # (a `::` cast without a call)
            elif c == '"':
                i = self._skip_quoted(i, '"')
            elif c == "$":
                match = _DOLLAR_TAG.match(text, i)
                if match:
                    tag = match.group()
                    end = text.find(tag, match.end())
                    i = n if end == -1 else end + len(tag)
                else:
                    i += 1  # a $1 parameter; its digits follow as ordinary characters
            elif c == "(":
                self.paren_depth += 1
                i += 1
            elif c == ")":
                self.paren_depth = max(self.paren_depth - 1, 0)
                i += 1
            else:
                match = _WORD.match(text, i)
                if match is None:
                    i += 1
                else:
                    i = match.end()
                    word = match.group()
                    if len(word) == 1 and word in "eE" and i < n and text[i] == "'":
                        rest = _E_STRING_REST.match(text, i + 1)
                        i = n if rest is None else rest.end()
                    else:
                        self._word(word.lower())
            self.last_end = i
        bounds = self._flush()
        if bounds:
            yield bounds

    def _skip_plain(self, i: int, line_blank: bool) -> tuple[int, bool]:
        """Jump over what the character-by-character loop would read without effect: the
        words, numbers, operators and blanks before the next `_PLAIN_STOP`. A word run right
        before a quote or `$` is left to the loop: `E'...'` strings and `$` inside words
        depend on where that word starts."""
        text = self.text
        match = _PLAIN_STOP.search(text, i)
        j = len(text) if match is None else match.start()
        if j < len(text) and text[j] in "'$":
            while j > i and (text[j - 1] in _WORD_ASCII or text[j - 1] > "\x7f"):
                j -= 1
        if j > i:
            significant = len(text[i:j].rstrip(_SPACE))
            if significant:
                line_blank = False
                self.last_end = i + significant
        return j, line_blank

    def _colon(self, i: int) -> int:
        """Offset just past a `:` at `i`: a `::` cast, a psql variable (recorded), or the
        colon alone (`a[1:2]` reads `:2` as a variable, as psql does)."""
        text = self.text
        if text.startswith("::", i):
            return i + 2  # psql's lexer reads `::` as one token: no variable follows
        match = PSQL_VARIABLE.match(text, i)
        if match is None:
            return i + 1
        kind = match.lastgroup or "raw"
        self.psql_variables.append((i, match.end(), kind, match[kind]))
        return match.end()

    def _skip_block_comment(self, i: int) -> int:
        """Offset just past a `/* */` comment starting at `i`; they nest in PostgreSQL."""
        depth = 0
        pos = i
        while True:
            match = _COMMENT_DELIMITER.search(self.text, pos)
            if match is None:
                return len(self.text)
            depth += 1 if match.group() == "/*" else -1
            pos = match.end()
            if depth == 0:
                return pos

    def _skip_quoted(self, i: int, quote: str) -> int:
        """Offset just past a quoted string or identifier starting at `i` (doubled quotes)."""
        text = self.text
        pos = i + 1
        while True:
            end = text.find(quote, pos)
            if end == -1:
                return len(text)
            if text.startswith(quote, end + 1):
                pos = end + 2
                continue
            return end + 1

    def _skip_copy_data(self, i: int) -> int:
        """Offset of the line after the `\\.` that ends inline `COPY ... FROM stdin` data."""
        text = self.text
        n = len(text)
        end = text.find("\n", i)
        if end == -1:
            return n
        pos = end + 1
        while pos < n:
            end = text.find("\n", pos)
            line_end = n if end == -1 else end
            if text[pos:line_end].rstrip("\r") == "\\.":
                return line_end
            pos = line_end + 1
        return n

    def _word(self, word: str) -> None:
        if self.word_count == 0:
            self.first_word = word
        if self.word_count < 4:
            self.marks[self.word_count] = _FUNCTION_MARKS.get(word, "")
        self.word_count += 1
        if self.word_count == 4 and self.skip_plain:
            marks = self.marks
            self.plain = self.first_word != "copy" and not _makes_function(marks)
        if self.paren_depth:
            return
        if _makes_function(self.marks):
            if word == "begin":
                self.begin_depth += 1
            elif word == "case" and self.begin_depth >= 1:
                self.begin_depth += 1  # CASE also ends with END inside a body
            elif word == "end" and self.begin_depth > 0:
                self.begin_depth -= 1
        elif self.first_word == "copy":
            if word == "from":
                self.copy_from = True
            elif word == "stdin" and self.copy_from:
                self.copy_stdin = True


def _makes_function(marks: list[str]) -> bool:
    """Whether a statement's first words are `CREATE [OR REPLACE] FUNCTION|PROCEDURE`."""
    return marks[0] == "c" and (
        marks[1] in ("f", "p") or (marks[1] == "o" and marks[2] == "r" and marks[3] in ("f", "p")))


def cut_fragment(
    text: str, start: int, end: int, path: str, line_starts: list[int]
) -> SqlFragment:
    """Cut `text[start:end]` into a fragment with one span per source line."""
    index = bisect.bisect_right(line_starts, start) - 1
    line = index + 1
    spans = [(0, line, start - line_starts[index] + 1)]
    newline = text.find("\n", start, end)
    while newline != -1:
        line += 1
        spans.append((newline + 1 - start, line, 1))
        newline = text.find("\n", newline + 1, end)
    return SqlFragment(path=path, sql=text[start:end], spans=tuple(spans), origin="sql")

"""Word-level reading of ALTER statements with quoting and case kept (renames, drops).

Complements `dbsafe.lint.actions`: these rules need to know whether a name was quoted,
which `Statement.words` does not keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One token of a statement as written: quotes removed, case kept."""

    text: str
    quoted: bool = False  # a quoted identifier: case matters, never a keyword
    string: bool = False  # a string or number literal

    @property
    def keyword(self) -> str:
        """The upper-cased word, or "" when it cannot be a keyword."""
        return "" if self.quoted or self.string else self.text.upper()

    @property
    def folded(self) -> str:
        """The name as PostgreSQL stores it (unquoted identifiers fold to lower case)."""
        return self.text if self.quoted else self.text.lower()


@dataclass(frozen=True, slots=True)
class AlterStatement:
    """`ALTER <kind> [IF EXISTS] [ONLY] <name> [*] <action>, <action>, ...` split by words.

    sqlglot parses many ALTER TABLE forms only as `exp.Command` and misreads
    `RENAME a TO b` (COLUMN omitted) as a table rename, so the actions are read from the
    tokens instead.
    """

    kind: str  # "TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "INDEX", ...
    name: str  # folded, schema-qualified as written
    actions: tuple[tuple[Word, ...], ...]  # split on top-level commas


def statement_words(sql: str) -> list[Word]:
    """The statement's tokens as `Word`s (sqlglot's tokenizer: comments never leak in)."""
    from sqlglot.dialects.postgres import Postgres
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = Postgres().tokenize(sql)
    except (TokenError, RecursionError):
        return [Word(w) for w in sql.split()]
    literal = (TokenType.STRING, TokenType.NUMBER, TokenType.HEREDOC_STRING,
               TokenType.NATIONAL_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING)
    return [Word(t.text, quoted=t.token_type == TokenType.IDENTIFIER,
                 string=t.token_type in literal) for t in tokens]


_ALTER_KINDS = (("FOREIGN", "TABLE"), ("MATERIALIZED", "VIEW"), ("TABLE",), ("VIEW",),
                ("INDEX",), ("SEQUENCE",))


def parse_alter(sql: str) -> AlterStatement | None:
    """Split an ALTER TABLE/VIEW/MATERIALIZED VIEW/INDEX/SEQUENCE statement into actions.

    >>> a = parse_alter('ALTER TABLE IF EXISTS ONLY s."T" RENAME a TO b, DROP c')
    >>> a.kind, a.name, [[w.text for w in x] for x in a.actions]
    ('TABLE', 's.T', [['RENAME', 'a', 'TO', 'b'], ['DROP', 'c']])
    """
    words = statement_words(sql)
    keys = [w.keyword for w in words]
    if keys[:1] != ["ALTER"]:
        return None
    for kind in _ALTER_KINDS:
        if tuple(keys[1:1 + len(kind)]) == kind:
            i = 1 + len(kind)
            break
    else:
        return None
    if keys[i:i + 2] == ["IF", "EXISTS"]:
        i += 2
    if keys[i:i + 1] == ["ONLY"]:
        i += 1
    if i >= len(words) or keys[i] == "ALL":  # ALTER TABLE ALL IN TABLESPACE ...
        return None
    parts = [words[i].folded]
    i += 1
    while i + 1 < len(words) and words[i].text == "." and not words[i].string:
        parts.append(words[i + 1].folded)
        i += 2
    if i < len(words) and words[i].text == "*":
        i += 1
    return AlterStatement(" ".join(kind), ".".join(parts), _split_actions(words[i:]))


def _split_actions(words: Sequence[Word]) -> tuple[tuple[Word, ...], ...]:
    actions: list[tuple[Word, ...]] = []
    current: list[Word] = []
    depth = 0
    for word in words:
        literal = word.quoted or word.string
        if not literal and word.text == "(":
            depth += 1
        elif not literal and word.text == ")":
            depth -= 1
        if not literal and depth == 0 and word.text in (",", ";"):
            if current:
                actions.append(tuple(current))
            current = []
            continue
        current.append(word)
    if current:
        actions.append(tuple(current))
    return tuple(actions)


def dropped_column(action: Sequence[Word]) -> str | None:
    """The column an `ALTER TABLE` action drops (`DROP [COLUMN] [IF EXISTS] c`), if any."""
    keys = [w.keyword for w in action]
    if keys[:1] != ["DROP"] or len(action) < 2:
        return None
    i = 1
    if keys[1] == "COLUMN":
        i = 2
    elif keys[1] in ("CONSTRAINT", "DEFAULT", "NOT", "IDENTITY", "EXPRESSION"):
        return None
    if keys[i:i + 2] == ["IF", "EXISTS"]:
        i += 2
    return action[i].folded if i < len(action) else None

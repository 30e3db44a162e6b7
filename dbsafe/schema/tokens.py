"""Where two definitions first differ, token by token: the excerpt a finding shows.

PostgreSQL keeps a PL/pgSQL or `LANGUAGE sql` body (`AS $$ ... $$`) as the text it was
given, so `pg_get_functiondef` of a function reindented by hand differs from the one the
migrations made in whitespace alone; a `BEGIN ATOMIC` body is parsed and printed back,
never differing so. The first differing character then pointed at whitespace (or, with the
whitespace collapsed, at nothing). Bodies are read with PostgreSQL's own scanner
(`pglast.parser.scan`, the one PL/pgSQL reads its body with too): a dollar-quoted string is
scanned again inside, a comment is a token of its own (compared apart: bodies differing only
in comments run the same), and a string literal is one token whatever its spaces.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FirstDifference:
    """Where `a` and `b` first differ in a token: the line of each (stripped) and its number
    (from 1); `whitespace_only` when their tokens are the same, the lines then being the
    first that differ at all, or with `in_comments` the first whose comments differ (what
    the scanner skipped, other than whitespace)."""

    line_a: str
    line_b: str
    number_a: int
    number_b: int
    whitespace_only: bool
    in_comments: bool = False


def first_difference(a: str, b: str) -> FirstDifference | None:
    """Where `a` and `b` first differ, by token; None when they are the same text.

    >>> first_difference("BEGIN\\n  RETURN a + 1;\\nEND", "BEGIN\\n    RETURN a+1;\\nEND")
    FirstDifference(line_a='RETURN a + 1;', line_b='RETURN a+1;', number_a=2, number_b=2, whitespace_only=True, in_comments=False)
    >>> first_difference("SELECT 1;\\n-- note\\nSELECT 'a  b'", "SELECT 1;\\nSELECT 'a b'").line_b
    "SELECT 'a b'"
    >>> first_difference("AS $f$ RAISE $m$a  b$m$; $f$", "AS $f$ RAISE $m$a b$m$; $f$").whitespace_only
    False
    >>> found = first_difference("AS $$\\nSELECT 1; -- one\\n$$", "AS $$\\nSELECT 1;  /* two */\\n$$")
    >>> found.whitespace_only, found.in_comments, found.line_b
    (True, True, 'SELECT 1;  /* two */')
    >>> first_difference("AS $$ SELECT 1; -- one $$", "AS $$\\n  SELECT 1;   --  one\\n$$").in_comments
    False
    """
    if a == b:
        return None
    ta, tb = _tokens(a), _tokens(b)
    if ta is None or tb is None:  # the scanner refused one: compare lines, blanks squeezed
        ta, tb, ca, cb = _words(a), _words(b), [], []
    else:  # a comment, a token of the scanner's own that no parser reads: compared apart
        ca = [(" ".join(word.split()), at) for word, at in ta if _comment(word)]
        cb = [(" ".join(word.split()), at) for word, at in tb if _comment(word)]
        ta = [token for token in ta if not _comment(token[0])]
        tb = [token for token in tb if not _comment(token[0])]
    at = _first_unlike(ta, tb)
    if at is None:  # the same tokens: where their comments, or else the text, first differ
        at = _first_unlike(ca, cb)
        if at is not None:  # a comment one side lacks: where the other's would be
            offset_a = ca[at][1] if at < len(ca) else _counterpart(cb[at][1], tb, ta)
            offset_b = cb[at][1] if at < len(cb) else _counterpart(ca[at][1], ta, tb)
            return _at(a, b, offset_a, offset_b, whitespace_only=True, in_comments=True)
        same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                    min(len(a), len(b)))
        return _at(a, b, same, same, whitespace_only=True)
    return _at(a, b, ta[at][1] if at < len(ta) else len(a), tb[at][1] if at < len(tb) else len(b),
               whitespace_only=False)


def _at(a: str, b: str, offset_a: int, offset_b: int, *, whitespace_only: bool,
        in_comments: bool = False) -> FirstDifference:
    def line(text: str, offset: int) -> tuple[str, int]:
        start = text.rfind("\n", 0, offset) + 1
        end = text.find("\n", offset)
        return text[start:end if end >= 0 else len(text)].strip(), text.count("\n", 0, start) + 1

    (line_a, number_a), (line_b, number_b) = line(a, offset_a), line(b, offset_b)
    return FirstDifference(line_a, line_b, number_a, number_b, whitespace_only, in_comments)


def _tokens(text: str, offset: int = 0, *, body: bool = False
            ) -> list[tuple[str, int]] | None:
    """Each token's text and where it starts, a dollar-quoted string's tokens in its place
    (the function's body; one inside the body is a literal, its spaces its own); None when
    the scanner refuses the text."""
    from pglast.parser import ParseError, scan

    try:
        tokens = scan(text)
    except ParseError:
        return None
    out: list[tuple[str, int]] = []
    for token in tokens:
        word = text[token.start:token.end + 1]  # `end` is the last character
        close = word.find("$", 1) if token.name == "SCONST" and word[:1] == "$" \
            and not body else -1
        quote = word[:close + 1] if close > 0 else ""
        inner = _tokens(word[len(quote):-len(quote)], offset + token.start + len(quote),
                        body=True) \
            if quote and word.endswith(quote) and len(word) >= 2 * len(quote) else None
        if inner is None:
            out.append((word, offset + token.start))
        else:
            out += [(quote, offset + token.start), *inner,
                    (quote, offset + token.end + 1 - len(quote))]
    return out


def _first_unlike(ta: list[tuple[str, int]], tb: list[tuple[str, int]]) -> int | None:
    """The index of the first token that differs (or that one side lacks); None when none."""
    return next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x[0] != y[0]),
                None if len(ta) == len(tb) else min(len(ta), len(tb)))


def _counterpart(offset: int, tokens: list[tuple[str, int]],
                 other: list[tuple[str, int]]) -> int:
    """Where in `other` (the same tokens as `tokens`) the token before `offset` starts."""
    before = sum(1 for _, start in tokens if start < offset)
    return other[before - 1][1] if before else 0


def _comment(word: str) -> bool:
    """Whether the scanner's token `word` is a comment: no other token starts with `--` or
    `/*` (an operator cannot contain either)."""
    return word.startswith(("--", "/*"))


def _words(text: str) -> list[tuple[str, int]]:
    """Each whitespace-separated word and where it starts (what a scanner refused is read
    so)."""
    out: list[tuple[str, int]] = []
    at = 0
    for word in text.split():
        at = text.index(word, at)
        out.append((word, at))
        at += len(word)
    return out

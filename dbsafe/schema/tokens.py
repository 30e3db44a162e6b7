"""Where two definitions first differ, token by token: the excerpt a finding shows.

PostgreSQL keeps a PL/pgSQL or `LANGUAGE sql` body (`AS $$ ... $$`) as the text it was
given, so `pg_get_functiondef` of a function reindented by hand differs from the one the
migrations made in whitespace alone; a `BEGIN ATOMIC` body is parsed and printed back,
never differing so. The first differing character then pointed at whitespace (or, with the
whitespace collapsed, at nothing). Bodies are read with PostgreSQL's own scanner
(`pglast.parser.scan`, the one PL/pgSQL reads its body with too): a dollar-quoted string is
scanned again inside, comments are not tokens, and a string literal is one token whatever
its spaces.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FirstDifference:
    """Where `a` and `b` first differ in a token: the line of each (stripped) and its number
    (from 1); `whitespace_only` when their tokens are the same, the lines then being the
    first that differ at all."""

    line_a: str
    line_b: str
    number_a: int
    number_b: int
    whitespace_only: bool


def first_difference(a: str, b: str) -> FirstDifference | None:
    """Where `a` and `b` first differ, by token; None when they are the same text.

    >>> first_difference("BEGIN\\n  RETURN a + 1;\\nEND", "BEGIN\\n    RETURN a+1;\\nEND")
    FirstDifference(line_a='RETURN a + 1;', line_b='RETURN a+1;', number_a=2, number_b=2, whitespace_only=True)
    >>> first_difference("SELECT 1;\\n-- note\\nSELECT 'a  b'", "SELECT 1;\\nSELECT 'a b'").line_b
    "SELECT 'a b'"
    >>> first_difference("AS $f$ RAISE $m$a  b$m$; $f$", "AS $f$ RAISE $m$a b$m$; $f$").whitespace_only
    False
    """
    if a == b:
        return None
    ta, tb = _tokens(a), _tokens(b)
    if ta is None or tb is None:  # the scanner refused one: compare lines, blanks squeezed
        ta, tb = _words(a), _words(b)
    at = next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x[0] != y[0]),
              None if len(ta) == len(tb) else min(len(ta), len(tb)))
    if at is None:  # the same tokens: where the text first differs
        same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                    min(len(a), len(b)))
        return _at(a, b, same, same, whitespace_only=True)
    return _at(a, b, ta[at][1] if at < len(ta) else len(a), tb[at][1] if at < len(tb) else len(b),
               whitespace_only=False)


def _at(a: str, b: str, offset_a: int, offset_b: int, *, whitespace_only: bool
        ) -> FirstDifference:
    def line(text: str, offset: int) -> tuple[str, int]:
        start = text.rfind("\n", 0, offset) + 1
        end = text.find("\n", offset)
        return text[start:end if end >= 0 else len(text)].strip(), text.count("\n", 0, start) + 1

    (line_a, number_a), (line_b, number_b) = line(a, offset_a), line(b, offset_b)
    return FirstDifference(line_a, line_b, number_a, number_b, whitespace_only)


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
            out += [(quote, offset + token.start), *inner, (quote, offset + token.end)]
    return out


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

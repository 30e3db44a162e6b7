"""sqlc's query files: its macros read as the placeholders they stand for.

sqlc (https://sqlc.dev) compiles `.sql` files of named queries (`-- name: GetUser :one`)
into code. Besides `$1`, a query names its parameters with `@name`, `sqlc.arg(name)`,
`sqlc.narg(name)` and `sqlc.slice(name)`, and `sqlc.embed(users)` selects every column of
a table. None of them is PostgreSQL: read as written, `sqlc.arg(user_name)` is a column
`user_name`, and `@user_id` is PostgreSQL's absolute-value operator on a column `user_id`.
In a file sqlc reads, each parameter becomes the placeholder `:name` and each embed
`users.*`, padded with blanks to the macro's length so that every position in the file
holds. The macros are found among the tokens of PostgreSQL's own lexer (pglast's `scan`),
never inside a string or a comment.
"""

from __future__ import annotations

import re

# sqlc's query annotation, which every query of a file it compiles carries: a `--` comment,
# or for PostgreSQL a `/* ... */` one (`/* name: GetUser :one */`), at the start of a line.
_QUERY_NAME = re.compile(
    r"^[ \t]*(?:--|/\*)[ \t]*name:[ \t]*\w+[ \t]+:(?:one|many|exec|execrows|execresult|execlastid"
    r"|batchexec|batchmany|batchone|copyfrom)\b", re.MULTILINE)
_PARAMETERS = frozenset({"arg", "narg", "slice"})
_PUNCTUATION = {"ASCII_46": ".", "ASCII_40": "(", "ASCII_41": ")"}


def is_sqlc_queries(text: str) -> bool:
    """Is `text` a file of sqlc queries (`-- name: GetUser :one`)?

    >>> is_sqlc_queries("-- name: GetUser :one\\nSELECT * FROM users WHERE id = @id;")
    True
    >>> is_sqlc_queries("/* name: GetUser :one */\\nSELECT * FROM users WHERE id = @id;")
    True
    >>> is_sqlc_queries("SELECT @ -5;")
    False
    """
    return _QUERY_NAME.search(text) is not None


def as_placeholders(sql: str) -> str:
    """`sql` with sqlc's macros written as placeholders (`:name`) and `table.*`, each padded
    to its length; `sql` itself when the lexer refuses it or it holds none.

    >>> as_placeholders("SELECT sqlc.embed(u) FROM u WHERE id=@id AND n = sqlc.narg('n')")
    'SELECT u.*           FROM u WHERE id=:id AND n = :n            '
    """
    from pglast import parser

    try:
        tokens = parser.scan(sql)
    except parser.ParseError:  # what PostgreSQL's lexer refuses is validated as written
        return sql

    def text(index: int) -> str:  # pglast's offsets count characters, `end` included
        return sql[tokens[index].start:tokens[index].end + 1]

    def kind(index: int) -> str:
        return _PUNCTUATION.get(tokens[index].name, tokens[index].name)

    edits: list[tuple[int, int, str]] = []  # start, end (exclusive), replacement
    for i, token in enumerate(tokens):
        if (token.name == "IDENT" and text(i).lower() == "sqlc" and i + 5 < len(tokens)
                and [kind(i + 1), kind(i + 3), kind(i + 5)] == [".", "(", ")"]):
            macro, argument = text(i + 2).lower(), text(i + 4)
            if kind(i + 4) == "SCONST":
                argument = argument[1:-1].replace("''", "'")
            if macro in _PARAMETERS:
                edits.append((token.start, tokens[i + 5].end + 1, f":{argument}"))
            elif macro == "embed":
                edits.append((token.start, tokens[i + 5].end + 1, f"{argument}.*"))
        elif (token.name == "Op" and text(i).endswith("@") and i + 1 < len(tokens)
              and tokens[i + 1].start == token.end + 1 and _word(text(i + 1))):
            edits.append((token.end, token.end + 1, ":"))
    if not edits:
        return sql
    out, last = [], 0
    for start, end, replacement in edits:
        if len(replacement) > end - start:
            continue  # cannot keep positions: left as written
        out += [sql[last:start], replacement.ljust(end - start)]
        last = end
    return "".join([*out, sql[last:]])


def _word(text: str) -> bool:
    """A name as `@name` writes it (an identifier or a keyword)."""
    return bool(text) and (text[0].isalpha() or text[0] == "_") and \
        all(c.isalnum() or c in "_$" for c in text)

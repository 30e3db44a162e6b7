"""Word-level reading of ALTER TABLE actions, shared by the ALTER TABLE rules.

sqlglot turns many ALTER TABLE forms into an opaque Command and keeps `NOT VALID` per
statement rather than per action, so these read the tokenizer's words
(`Statement.words`) instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from dbsafe.lint.engine import Statement

Words = tuple[str, ...]

SERIAL_TYPES = frozenset({"SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8"})


def fold(word: str) -> str:
    """An identifier word as PostgreSQL names it: unquoted ones arrive upper-cased."""
    return word.lower() if word == word.upper() else word


def qualified_name(words: Sequence[str], i: int) -> tuple[str, int]:
    """Read `a` or `a.b` (or `a.b.c`) starting at `words[i]`; return it folded and the next index."""
    parts = [fold(words[i])] if i < len(words) else []
    i += 1
    while i + 1 < len(words) and words[i] == ".":
        parts.append(fold(words[i + 1]))
        i += 2
    return ".".join(parts), i


def split_top_level(words: Sequence[str]) -> list[Words]:
    """Split at commas outside parentheses and brackets."""
    parts: list[Words] = []
    depth = 0
    start = 0
    for i, word in enumerate(words):
        if word in ("(", "["):
            depth += 1
        elif word in (")", "]"):
            depth -= 1
        elif word == "," and depth == 0:
            parts.append(tuple(words[start:i]))
            start = i + 1
    parts.append(tuple(words[start:]))
    return [p for p in parts if p]


def top_level(words: Sequence[str]) -> Words:
    """The words outside any parentheses or brackets (the brackets themselves dropped)."""
    out: list[str] = []
    depth = 0
    for word in words:
        if word in ("(", "["):
            depth += 1
        elif word in (")", "]"):
            depth -= 1
        elif depth == 0:
            out.append(word)
    return tuple(out)


def contains(words: Sequence[str], *needle: str) -> bool:
    n = len(needle)
    return any(tuple(words[i : i + n]) == needle for i in range(len(words) - n + 1))


def alter_target(statement: Statement, kind: str = "TABLE") -> tuple[str, list[Words]] | None:
    """For `ALTER <kind> [IF EXISTS] [ONLY] name [*] action, ...`: the name and the actions."""
    words = statement.words
    if words[:2] != ("ALTER", kind) or len(words) < 3:
        return None
    i = 2
    if words[i : i + 2] == ("IF", "EXISTS"):
        i += 2
    if words[i : i + 1] == ("ONLY",):
        i += 1
    if i >= len(words):
        return None
    name, i = qualified_name(words, i)
    if words[i : i + 1] == ("*",):
        i += 1
    return name, split_top_level(words[i:])


def column_action(action: Words) -> tuple[str, Words] | None:
    """For an `ADD [COLUMN] [IF NOT EXISTS] name type ...` action: the column and the rest."""
    if action[:1] != ("ADD",):
        return None
    i = 1
    if action[i : i + 1] == ("COLUMN",):
        i += 1
    elif action[i : i + 1] and action[i].split()[0] in _TABLE_CONSTRAINT_STARTS:
        return None
    if action[i : i + 3] == ("IF", "NOT", "EXISTS"):
        i += 3
    if i >= len(action):
        return None
    return fold(action[i]), action[i + 1 :]


_TABLE_CONSTRAINT_STARTS = frozenset(
    {"CONSTRAINT", "CHECK", "FOREIGN", "PRIMARY", "UNIQUE", "EXCLUDE", "NOT"})

# Words that end a column's DEFAULT expression (the next column constraint begins).
_CONSTRAINT_WORDS = frozenset({"NOT", "NULL", "CONSTRAINT", "CHECK", "REFERENCES", "PRIMARY",
                               "UNIQUE", "GENERATED", "COLLATE", "DEFERRABLE", "INITIALLY",
                               "COMPRESSION", "STORAGE"})


def columns_added(statement: Statement) -> tuple[str, list[tuple[str, Words]]] | None:
    """For an ALTER TABLE statement: the table and each `ADD COLUMN` as (column, rest)."""
    target = alter_target(statement)
    if target is None:
        return None
    table, actions = target
    columns = [column for action in actions if (column := column_action(action)) is not None]
    return table, columns


def column_default(rest: Words) -> Words | None:
    """The DEFAULT expression's words of a column definition, or None without a DEFAULT."""
    depth = 0
    for i, word in enumerate(rest):
        if word in ("(", "["):
            depth += 1
        elif word in (")", "]"):
            depth -= 1
        elif depth == 0 and word == "DEFAULT" and rest[i - 1 : i] != ("BY",):
            end = i + 1
            inner = 0
            while end < len(rest):
                w = rest[end]
                if w in ("(", "["):
                    inner += 1
                elif w in (")", "]"):
                    inner -= 1
                elif inner == 0 and w in _CONSTRAINT_WORDS and end > i + 1:
                    break
                end += 1
            return tuple(rest[i + 1 : end])
    return None


def is_null_default(expression: Words) -> bool:
    """`DEFAULT NULL` or `DEFAULT NULL::type`."""
    return expression[:1] == ("NULL",) and (len(expression) == 1 or expression[1] == "::")

"""Templates with run-time holes: SQL built from literals and `${...}`/`{...}` pieces.

Shared by the Python and JavaScript extractors. A `Template` is decoded literal text with
its source spans and the holes where run-time values go; `fill_holes` decides, per hole,
whether it sits where a *value* goes (`= {x}`, `LIMIT {n}`, `IN ({ids})`, `VALUES ({a})`,
inside a quoted SQL string) and renders the statement with `NULL` there (`(NULL)` for the
parenthesised list of `IN {ids}`), or says why the statement is built at run time.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_NULL = "NULL"
_LIST = "list"  # a hole's kind where a parenthesised list goes (`IN {ids}`): `(NULL)`


@dataclass(frozen=True, slots=True)
class Hole:
    offset: int  # where the hole sits in the template text
    line: int
    column: int
    label: str  # source text of the hole, for the "not validated" reason
    # What goes here is known to be nothing, or a clause ending the FROM items after a
    # blank (`sql += " WHERE ..."`, `{where}` bound to "" or "WHERE ..."; see
    # `adds_a_clause`): after the FROM items, the statement is checked without it.
    clause: bool = False
    # What goes here is SQL text its library writes in, never a parameter (Kysely's
    # `${sql.ref('t.c')}`, `${sql.raw(x)}`): the statement is not validated, whatever the
    # place (but for one inside a quoted string or a comment, which is content).
    written: bool = False
    # Why the text a library writes there is not known (knex's `??` of a client renaming
    # identifiers): said as the reason the statement is not validated, wherever it sits.
    why: str = ""


@dataclass(frozen=True, slots=True)
class Template:
    """Decoded literal text with its spans, and the run-time holes between its pieces."""

    text: str
    spans: tuple[tuple[int, int, int], ...]
    holes: tuple[Hole, ...] = ()
    problem: str | None = None  # set when the literal could not be mapped exactly


_SENTINEL = "\x00"
# What a hole of DDL no statement is checked for is filled with: a name no application uses,
# which PostgreSQL's parser reads wherever a name or a value goes, quoted (`"{name}"`) or not,
# or as part of one (`{prefix}_log`), so a relation made under a name known only at run time
# is seen as one (`dbsafe.validate.file_ddl.FileDdl.unnamed`).
NAME_HOLE = "dbsafe_name_known_at_run_time"
_WORD_CHARS = re.compile(r"[\w$]")
# An operand of a binary operator is a value: bitwise `&`, `|`, `#` too (civitai's
# `("nsfwLevel" & ${flag}) != 0`), and the last character of `&&`, `@>`, `->>`, of full text
# search's `@@` and `^@` (`search @@ websearch_to_tsquery('english', ${q})`), of a regular
# expression's `~` and `!~`, and `^`. `*` is left out: after `SELECT *` a hole may go on with
# `FROM ...`; so is `?`, a placeholder in some drivers.
_VALUE_OPERATORS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">=", "||", "+", "-", "/", "%",
                              "&", "|", "#", "@", "~", "^"})
_VALUE_KEYWORDS = frozenset({"LIKE", "ILIKE", "LIMIT", "OFFSET", "THEN", "ELSE"})
_VALUE_LISTS = frozenset({"VALUES", "IN", "ANY", "ALL"})
# Clauses after which a statement's FROM items are all given: text added at its end (`sql +=
# " AND ..."`) can narrow, order or return rows, but cannot bring a table into scope.
_CLOSING_CLAUSES = frozenset(
    {"WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "FETCH", "FOR",
     "RETURNING"})
# Where a statement's level starts another part, which text added at its end may complete.
_OPENING_CLAUSES = frozenset(
    {"SELECT", "FROM", "JOIN", "ON", "USING", "SET", "VALUES", "UNION", "INTERSECT",
     "EXCEPT", "UPDATE", "INTO", "DELETE", "MERGE", "WHEN", "DO", "CONFLICT"})
_CLAUSES = _CLOSING_CLAUSES | _OPENING_CLAUSES
# Words after which an expression or clause cannot end.
_CONTINUED_BY = frozenset(
    {"AND", "OR", "NOT", "BY", "IS", "IN", "LIKE", "ILIKE", "SIMILAR", "BETWEEN", "AS",
     "CASE", "WHEN", "THEN", "ELSE", "ALL", "ANY", "DISTINCT", "ESCAPE", "COLLATE", "NULLS",
     "OVERLAPS", "OPERATOR", *_CLAUSES})
# Where an expression starts: a word followed by `(` here calls a function (`= lower(`,
# `WHERE coalesce(`, `, date_trunc(`, `ORDER BY similarity(`), while after a table name,
# `INTO`, `AS`, `WITH`, `ON` or `::` the parentheses list columns, define a CTE or give a
# type's modifiers; after `CALL` it calls a procedure, whose arguments are values.
_EXPRESSION_STARTS = frozenset(
    {"(", ",", "SELECT", "CALL", "WHERE", "AND", "OR", "NOT", "WHEN", "THEN", "ELSE", "HAVING",
     "RETURNING", "DISTINCT", "CASE", "LIKE", "ILIKE", "BETWEEN", "LIMIT", "OFFSET", "BY"})
# Words that take `(` without calling a function on values: a subquery or a list
# (`EXISTS (`, `ARRAY(`, `IN (`), a window (`OVER (`), `EXTRACT(field FROM x)`, a
# partitioning's columns (`PARTITION BY LIST (`, `HASH (`, `RANGE (`).
_NOT_CALLS = frozenset({"EXISTS", "ARRAY", "OVER", "FILTER", "EXTRACT", "LATERAL", "ROWS",
                        "RANGE", "GROUPS", "SETS", "CUBE", "ROLLUP", "TABLE", "ONLY", "LIST",
                        "HASH", *_CONTINUED_BY, *_VALUE_LISTS})
_FUNCTION_NAME = re.compile(r"[A-Z_][A-Z0-9_$]*")
# Words after which a FROM item starts: a name followed by `(` there calls a table function.
_FROM_ITEM_STARTS = frozenset({"FROM", "JOIN", "LATERAL"})
_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<comment>--[^\n]*|/\*.*?\*/)|(?P<quote>'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?)"
    r"|(?P<dollar>\$(?:[A-Za-z_]\w*)?\$)|(?P<word>[A-Za-z_][\w$]*)|(?P<hole>\x00)"
    r"|(?P<op><>|!=|<=|>=|\|\||::|[^\s\w])|(?P<other>\w+)",
    re.DOTALL,
)


# Words that, first in text added at a statement's end, cannot bring a table into scope.
_ADDED_CLAUSES = _CLOSING_CLAUSES | {"AND", "OR"}


def adds_a_clause(text: str) -> bool:
    """Whether `text`, added at the end of a statement, starts after a blank with a clause
    ending its FROM items (or continuing a condition).

    >>> adds_a_clause(" WHERE created >= $since"), adds_a_clause(" group by id")
    (True, True)
    >>> adds_a_clause(" JOIN u USING (id)"), adds_a_clause("WHERE a = 1")
    (False, False)
    """
    if not text[:1].isspace():
        return False  # glued to the word before it
    words = text.split(None, 1)
    word = "".join(itertools.takewhile(str.isalpha, words[0])) if words else ""
    return word.upper() in _ADDED_CLAUSES


def _classify(text: str, offsets: Sequence[int],
              clauses: Sequence[bool] = ()) -> list[str | None]:
    """For each hole offset: None if it takes a value, else why it cannot be validated.

    Holes inside a quoted SQL string or a comment are content, marked "string"/"comment";
    a hole ending a complete statement whose FROM items are all given is "tail" (see
    `_is_tail`).
    """
    marked = _mark(text, offsets)
    kinds: list[str | None] = []
    previous: list[str] = []  # significant tokens so far, upper-cased words
    stack: list[str] = [""]  # per parenthesis depth: what opened it
    calls: list[bool] = [False]  # per parenthesis depth: a function's arguments
    last_keyword: list[str] = [""]
    # Per parenthesis depth: a BETWEEN waiting for its AND, and the CASEs not yet ENDed.
    betweens: list[bool] = [False]
    cases: list[int] = [0]
    brackets = 0  # how many `[` are open: a subscript's (or an array's) inside
    operand_at = -1  # len(previous) where a hole is an operand: a BETWEEN bound, a CASE's WHEN
    clause = ""  # the last clause word at the outermost level
    value_at = -1  # len(previous) right after a hole that takes a value: it ends an operand
    adds = iter(clauses)
    pos = 0
    while pos < len(marked):
        match = _TOKEN.match(marked, pos)
        assert match is not None  # every character matches some alternative
        kind = match.lastgroup
        token = match.group()
        pos = match.end()
        if kind in ("space",):
            continue
        if kind == "comment":
            kinds.extend("comment" for _ in range(token.count(_SENTINEL)))
            continue
        if kind == "quote":
            count = token.count(_SENTINEL)
            if count:
                reason = "string" if token[0] == "'" else "inside a quoted identifier"
                kinds.extend(reason for _ in range(count))
            previous.append("'")
            continue
        if kind == "dollar":
            close = marked.find(token, pos)
            close = len(marked) if close == -1 else close
            kinds.extend("string" for _ in range(marked.count(_SENTINEL, pos, close)))
            pos = close + len(token)
            previous.append("'")
            continue
        if kind == "hole":
            if next(adds, False):
                # A clause or nothing: anywhere after the FROM items, it cannot bring a
                # table into scope, and the statement is checked without it; in a
                # subquery or CTE too (Outline's `WHERE ... ${anchorFilter}` in a `WITH`),
                # and after a value's hole (`WHERE team = ${id} ${filter}`).
                if _ends_an_item(previous, stack, nested=True) or value_at == len(previous):
                    kinds.append("tail")
                    continue
            elif _is_tail(marked, pos, previous, stack, clause):
                kinds.append("tail")
                previous.append(_SENTINEL)
                continue
            # `(a, b) > (${x}, ${y})`: a row (or a scalar subquery) compared, its items
            # values while no word has opened a query inside it
            row = stack[-1] in _VALUE_OPERATORS and not last_keyword[-1]
            kinds.append(_hole_kind(marked, match.start(), previous, stack, calls[-1] or row,
                                    operand=operand_at == len(previous),
                                    in_brackets=brackets > 0))
            previous.append(_SENTINEL)
            if kinds[-1] in (None, _LIST):
                value_at = len(previous)
            continue
        upper = token.upper()
        if kind == "word":
            last_keyword[-1] = upper
            if len(stack) == 1 and upper in _CLAUSES:
                clause = upper
            # `x BETWEEN [SYMMETRIC] {a} AND {b}`, `CASE WHEN {a} = ...`: expressions, as
            # after `=`; the AND ending a BETWEEN joins no conditions.
            if upper == "BETWEEN" or (upper == "SYMMETRIC" and previous[-1:] == ["BETWEEN"]):
                betweens[-1] = True
                operand_at = len(previous) + 1
            elif upper == "AND" and betweens[-1]:
                betweens[-1] = False
                operand_at = len(previous) + 1
            elif upper == "CASE":
                cases[-1] += 1
            elif upper == "END" and cases[-1]:
                cases[-1] -= 1
            elif upper == "WHEN" and cases[-1]:
                operand_at = len(previous) + 1
        elif token == "(":
            opener = previous[-1] if previous else ""
            if opener == ",":
                opener = last_keyword[-1]
            calls.append(_calls_a_function(previous))
            stack.append(opener)
            last_keyword.append("")
            betweens.append(False)
            cases.append(0)
        elif token == "[":
            brackets += 1
        elif token == "]" and brackets:
            brackets -= 1
        elif token == ")" and len(stack) > 1:
            stack.pop()
            calls.pop()
            last_keyword.pop()
            betweens.pop()
            cases.pop()
        previous.append(upper)
    return kinds


def _is_tail(marked: str, after: int, previous: list[str], stack: list[str],
             clause: str) -> bool:
    """A hole that only appends to a statement complete without it (`sql += " AND x = 1"`
    after `WHERE ...`, `" LIMIT 10"`, `" FOR UPDATE"`): nothing follows it, it is at the
    outermost level after a clause that ends the FROM items, and the text before it ends an
    expression. Whatever it holds cannot make a name before it valid, so the statement
    before it is checked as it stands."""
    if clause not in _CLOSING_CLAUSES or not _ends_an_item(previous, stack):
        return False
    rest = _TOKEN.sub(lambda m: "" if m.lastgroup in ("space", "comment") else m.group(),
                      marked[after:])
    return not rest.strip(";")


def _ends_an_item(previous: list[str], stack: list[str], *, nested: bool = False) -> bool:
    """At the outermost level (any, with `nested`), the text so far ends an expression or a
    FROM item (not `FROM`, `AND`, `=`, `(`, `,`, another hole): a clause may start here."""
    if (len(stack) != 1 and not nested) or not previous:
        return False
    last = previous[-1]
    if last in _CONTINUED_BY or last in _VALUE_OPERATORS or last in ("(", ",", _SENTINEL):
        return False
    # an operator (`x ~`, `a.`); `?` is a placeholder
    return not (len(last) == 1 and not last.isalnum() and last not in (")", "'", "?"))


def _calls_a_function(previous: list[str]) -> bool:
    """Whether a `(` after the tokens `previous` opens a function's arguments: a name that
    is no keyword taking `(` otherwise, schema-qualified or not (`pgmq.send(`), where an
    expression starts (`_EXPRESSION_STARTS`) or a FROM item does (`FROM unnest(`,
    `JOIN LATERAL jsonb_to_recordset(`: a table function, which no relation name is
    followed by)."""
    if not previous or not _FUNCTION_NAME.fullmatch(previous[-1]) \
            or previous[-1] in _NOT_CALLS:
        return False
    at = len(previous) - 1
    while at >= 2 and previous[at - 1] == "." and _FUNCTION_NAME.fullmatch(previous[at - 2]):
        at -= 2  # `schema.function(`
    before = previous[at - 1] if at >= 1 else ""
    return before in _EXPRESSION_STARTS or before in _VALUE_OPERATORS or \
        before in _FROM_ITEM_STARTS


def _hole_kind(
    marked: str, at: int, previous: list[str], stack: list[str], in_call: bool, *,
    operand: bool = False, in_brackets: bool = False,
) -> str | None:
    before = marked[at - 1] if at else ""
    after = marked[at + 1] if at + 1 < len(marked) else ""
    if (before and _WORD_CHARS.match(before)) or before in ('.', '"'):
        return "part of a name"
    if (after and _WORD_CHARS.match(after)) or after in (".", "(", '"', "[", _SENTINEL):
        return "part of a name"
    prev = previous[-1] if previous else ""
    if prev in _VALUE_OPERATORS or prev in _VALUE_KEYWORDS or operand:
        return None
    if prev == "[" or (prev == ":" and in_brackets):
        # an array's first element (`ARRAY[${ids}]`), a subscript, a slice's upper bound
        # (`(history || %(h)s)[1:{limit}]`: a `:` stands alone nowhere else in PostgreSQL)
        return None
    if prev in ("(", ",") and (stack[-1] in _VALUE_LISTS or in_call):
        return None  # a list's item, a function's argument (`lower(${email})`)
    if prev == "ZONE" and previous[-3:-1] == ["AT", "TIME"]:
        return None  # `created_at AT TIME ZONE ${tz}`
    if prev == "IN":
        # `IN {ids}`: the hole brings its own parentheses (`"('a','b')"`), a list of values
        # or a subquery; either way it brings no name into scope.
        return _LIST
    where = "right after another hole" if prev == _SENTINEL else \
        f"after {prev}" if prev else "at the start"
    return f"not in a value position ({where})"


# Where a hole is text, not syntax: inside a quoted string, a quoted identifier or a comment.
_QUOTED_KINDS = frozenset({"string", "comment", "inside a quoted identifier"})


def in_syntax(text: str, offsets: Sequence[int]) -> list[bool]:
    """For each offset (ascending): True where it sits in the statement's syntax, False
    inside a quoted string, a quoted identifier or a comment.

    Example:
        >>> in_syntax("SELECT x FROM t WHERE a = '{a,b}' -- c", [7, 27, 37])
        [True, False, False]
    """
    return [kind not in _QUOTED_KINDS for kind in _classify(text, offsets)]


def _mark(text: str, offsets: Sequence[int]) -> str:
    parts: list[str] = []
    previous = 0
    for offset in offsets:
        parts.append(text[previous:offset])
        parts.append(_SENTINEL)
        previous = offset
    parts.append(text[previous:])
    return "".join(parts)


def fill_holes(
    template: Template,
) -> tuple[str | None, str, tuple[tuple[int, int, int], ...], tuple[int, ...], tuple[int, ...]]:
    """Render a template as SQL; the reason it is dynamic, if any hole is not a value.

    Returns:
        (reason or None, the SQL with each value hole as `NULL`, the SQL's spans, the
        offsets in the SQL where a hole inside a quoted string was left out: that string's
        text is only known at run time, `'{table}_id_seq'` rendered as `'_id_seq'`, and the
        offsets of the `NULL`s standing for value holes: each may be any number of values,
        `VALUES ({placeholders})`).

    Example:
        >>> t = Template("SELECT a FROM t WHERE id = ", ((0, 1, 1),), (Hole(27, 1, 28, "${id}"),))
        >>> fill_holes(t)[:2]
        (None, 'SELECT a FROM t WHERE id = NULL')
        >>> fill_holes(Template("SELECT a FROM ", ((0, 1, 1),), (Hole(14, 1, 15, "${t}"),)))[0]
        '`${t}` is not in a value position (after FROM)'
        >>> fill_holes(Template("SELECT a FROM t WHERE id =   ORDER BY a", ((0, 1, 1),),
        ...                     (Hole(27, 1, 28, "${id}"), Hole(28, 1, 29, "${and}"))))[0]
        '`${and}` is not in a value position (right after another hole)'
        >>> fill_holes(Template("SELECT a FROM t WHERE id IN ", ((0, 1, 1),),
        ...                     (Hole(28, 1, 29, "{ids}"),)))[:2]
        (None, 'SELECT a FROM t WHERE id IN (NULL)')
        >>> fill_holes(Template("INSERT INTO t (a, b) VALUES ()", ((0, 1, 1),),
        ...                     (Hole(29, 1, 30, "{marks}"),)))[1::3]
        ('INSERT INTO t (a, b) VALUES (NULL)', (29,))
        >>> fill_holes(Template("SELECT setval('_id_seq', 1)", ((0, 1, 1),),
        ...                     (Hole(15, 1, 16, "{table}"),)))[1:4:2]
        ("SELECT setval('_id_seq', 1)", (15,))
    """
    if not template.holes:
        return None, template.text, template.spans, (), ()
    if _SENTINEL in template.text:
        return "the statement is built at run time", template.text, template.spans, (), ()
    kinds = _classify(template.text, [hole.offset for hole in template.holes],
                      [hole.clause for hole in template.holes])
    reason = None
    for hole, kind in zip(template.holes, kinds):
        label = hole.label if len(hole.label) <= 40 else hole.label[:37] + "..."
        if hole.why and kind not in ("string", "comment"):
            reason = f"`{label}` is SQL its library writes there: {hole.why}"
            break
        if kind not in (None, _LIST, "string", "comment", "tail"):
            reason = f"`{label}` is {kind}"
            break
        if hole.written and kind not in ("string", "comment"):
            reason = f"`{label}` is SQL its library writes there, not a parameter"
            break
    texts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    in_strings: list[int] = []
    values: list[int] = []
    length = 0
    previous = 0
    pieces: list[tuple[Hole | None, str | None]] = [*zip(template.holes, kinds), (None, None)]
    for piece, kind in pieces:
        stop = len(template.text) if piece is None else piece.offset
        if stop > previous:
            for offset, line, column in _slice_spans(template.spans, previous, stop):
                spans.append((offset + length, line, column))
            texts.append(template.text[previous:stop])
            length += stop - previous
        previous = stop
        if kind == "string":
            in_strings.append(length)
        if piece is not None and kind not in ("string", "comment", "tail"):
            # A value hole becomes NULL, mapped to where the hole starts in the source.
            value = f"({_NULL})" if kind == _LIST else _NULL
            values.append(length)
            spans.append((length, piece.line, piece.column))
            texts.append(value)
            length += len(value)
    return reason, "".join(texts), tuple(spans), tuple(in_strings), tuple(values)


def _slice_spans(
    spans: tuple[tuple[int, int, int], ...], start: int, end: int
) -> Iterator[tuple[int, int, int]]:
    """The spans of `text[start:end]`, offsets relative to `start`."""
    index = max(bisect.bisect_right(spans, (start, float("inf"), float("inf"))) - 1, 0)
    offset, line, column = spans[index]
    yield (0, line, column + start - offset)
    for offset, line, column in spans[index + 1 :]:
        if offset >= end:
            break
        yield (offset - start, line, column)

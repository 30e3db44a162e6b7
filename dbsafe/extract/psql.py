"""A script as psql runs it: its variables substituted, the files it includes read in place.

psql's lexer (`psqlscan.l`) substitutes a variable outside strings, quoted identifiers,
comments and dollar-quoted bodies (the places `dbsafe.extract.sqlfile`'s scanner finds
them): `:'name'` becomes its value as a quoted literal (`PQescapeLiteral`: quotes doubled,
` E'...'` when it holds a backslash), `:"name"` as a quoted identifier
(`PQescapeIdentifier`), `:{?name}` `TRUE` or `FALSE` (whether it is set), and `:name` its
text, which psql reads on as part of the script (a `;` in it ends a statement). A
variable that is not set is left as written, as psql leaves it (where PostgreSQL then
refuses the statement). `\\set` and `\\unset` change them for the rest of the session,
included files too (a value psql would read from a shell command, in backquotes, is not run:
the variable's name stands in for it); `\\if`/`\\elif`/`\\else`/`\\endif` leave out what a
false branch holds.

`\\i FILE` (`\\include`) reads a file relative to psql's working directory, `\\ir FILE`
(`\\include_relative`) one relative to the including file's folder; each statement keeps
the file and line it is written on. A file that is not there, or that includes itself,
stops psql; dbsafe says so (`SourceError`) rather than read on.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dbsafe.core import SourceError
from dbsafe.extract.fragment import SqlFragment
from dbsafe.extract.sqlfile import (
    PSQL_VARIABLE,
    cut_fragment,
    line_starts_of,
    scan_psql,
    statement_bounds,
)

_INCLUDES = {"i": False, "include": False, "ir": True, "include_relative": True}
_CONDITIONALS = frozenset({"if", "elif", "else", "endif"})
# psql's ParseVariableBool: a unique prefix of these, case aside, or 1 and 0.
_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off")
# What may end a raw value's statement or start a string in it: psql reads `:name`'s text
# on as script, so such a value is split again.
_LEXICAL = frozenset(";'\"$-/\\:")
_META_COMMAND = re.compile(r"\\(?P<command>[^\s\\]*)(?P<rest>.*)", re.DOTALL)
_ARGUMENT = re.compile(r"'(?:[^'\\]|\\.|'')*'?|[^\s'\\]+", re.DOTALL)


@dataclass
class PsqlSession:
    """What one psql run carries from file to file: its variables and where it runs."""

    variables: dict[str, str]
    cwd: Path  # where psql runs: `\i` reads relative to it
    shown: Callable[[Path], str]  # the display path of a file
    files: list[Path] = field(default_factory=list)  # every file read, in order
    _reading: list[Path] = field(default_factory=list)  # the include chain
    _branches: list[tuple[bool, bool]] = field(default_factory=list)  # (active, taken) per \if

    @property
    def active(self) -> bool:
        return all(active for active, _ in self._branches)


def includes_a_file(text: str) -> bool:
    """Whether the psql script `text` runs another file (`\\i`, `\\ir`, `\\include`,
    `\\include_relative`): what that file makes, its statements may use.

    >>> includes_a_file("select plan(1);\\n\\\\ir _shared/helpers.sql\\nselect ok(true);")
    True
    >>> includes_a_file("select '\\\\i x.sql';\\n\\\\if :x\\n\\\\endif")
    False
    """
    if "\\i" not in text:  # (most scripts: not scanned again)
        return False
    for start, end in scan_psql(text).meta_commands:
        named = _META_COMMAND.match(text[start:end])
        if named and named["command"] in _INCLUDES:
            return True
    return False


def read_script(file: Path, session: PsqlSession) -> list[SqlFragment]:
    """The statements psql runs for `file` (its path as psql is given it), in order, each
    located in the file that holds it.

    Raises:
        SourceError: the file, or one it includes, cannot be read; an include loops; a
            `\\if` is not closed or its value is no boolean.
    """
    return _read(file, session)


def _read(file: Path, session: PsqlSession) -> list[SqlFragment]:
    real = file.resolve()
    if real in session._reading:
        chain = " -> ".join(session.shown(p) for p in (*session._reading, real))
        raise SourceError(f"psql includes {session.shown(real)} within itself ({chain}): "
                          "it would read it again and again until it runs out of files")
    try:
        text = file.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise SourceError(f"cannot read {session.shown(file)}: {exc.strerror or exc}") from None
    session._reading.append(real)
    session.files.append(file)
    depth = len(session._branches)
    try:
        fragments = _statements(text, file, session)
    finally:
        session._reading.pop()
    if len(session._branches) != depth:
        raise SourceError(f"{session.shown(file)}: a \\if is not closed by \\endif in the "
                          "same file (psql stops there)")
    return fragments


def _statements(text: str, file: Path, session: PsqlSession) -> list[SqlFragment]:
    """The statements of one file's `text`, its meta-commands run where they stand."""
    shown = session.shown(file)
    line_starts = line_starts_of(text)
    scan = scan_psql(text)
    found = scan.variables
    # Statements and meta-commands in file order (a meta-command ends the statement before).
    steps = sorted([(start, end, False) for start, end in scan.statements]
                   + [(start, end, True) for start, end in scan.meta_commands])
    fragments: list[SqlFragment] = []
    for start, end, meta in steps:
        if meta:
            line = bisect.bisect_right(line_starts, start)
            fragments += _meta_command(text[start:end], file, f"{shown}:{line}", session)
        elif session.active:
            fragment = cut_fragment(text, start, end, shown, line_starts)
            inside = found[bisect.bisect_left(found, (start,)):bisect.bisect_left(found, (end,))]
            fragments += _substituted(fragment, [(a - start, b - start, kind, name)
                                                 for a, b, kind, name in inside], session)
    return fragments


def _substituted(fragment: SqlFragment, references: list[tuple[int, int, str, str]],
                 session: PsqlSession) -> list[SqlFragment]:
    """`fragment` with the variables at `references` (offsets in its SQL) replaced by what
    psql puts there; split again where a raw value holds what may end a statement."""
    pieces: list[str] = []
    spans: list[tuple[int, int, int]] = []
    kept = 0  # offset in the old SQL up to which it is copied
    size = 0  # length of the new SQL so far
    old_spans = list(fragment.spans)
    resplit = False

    def copy(upto: int) -> None:
        nonlocal kept, size
        spans.extend((size + offset - kept, line, column) for offset, line, column in old_spans
                     if kept < offset < upto)
        if kept < upto:
            spans.append((size, *fragment.position(kept)))
        pieces.append(fragment.sql[kept:upto])
        size += upto - kept
        kept = upto

    for start, end, kind, name in references:
        value = _value(kind, name, session.variables, ())
        if value is None:
            continue
        copy(start)
        spans.append((size, *fragment.position(start)))
        pieces.append(value)
        size += len(value)
        kept = end
        resplit = resplit or (kind == "raw" and not _LEXICAL.isdisjoint(value))
    if not pieces:
        return [fragment]
    copy(len(fragment.sql))
    spans = sorted({s[0]: s for s in spans}.values())
    written = replace(fragment, sql="".join(pieces), spans=tuple(spans))
    if not resplit:
        return [written]
    return [written.sub(a, b) for a, b in statement_bounds(written.sql)]


def _value(kind: str, name: str, variables: Mapping[str, str],
           expanding: tuple[str, ...]) -> str | None:
    """What psql puts in place of a variable of `kind`, or None where it leaves it."""
    if kind == "test":
        return "TRUE" if name in variables else "FALSE"
    value = variables.get(name)
    if value is None:
        return None
    if kind == "literal":
        quoted = "'" + value.replace("'", "''").replace("\\", "\\\\") + "'"
        return f" E{quoted}" if "\\" in value else quoted
    if kind == "identifier":
        return '"' + value.replace('"', '""') + '"'
    if name in expanding:  # psql: "skipping recursive expansion of variable"
        return None
    return _expanded(value, variables, (*expanding, name))


def _expanded(text: str, variables: Mapping[str, str], expanding: tuple[str, ...]) -> str:
    """`text` (a raw value psql reads on as script) with the variables in it substituted."""
    out, kept = [], 0
    for start, end, kind, name in scan_psql(text).variables:
        value = _value(kind, name, variables, expanding)
        if value is not None:
            out += [text[kept:start], value]
            kept = end
    return "".join([*out, text[kept:]])


def _meta_command(line: str, file: Path, where: str, session: PsqlSession
                  ) -> list[SqlFragment]:
    """Run one meta-command line of `file` (`where` is its `path:line`): includes,
    variables, conditionals; every other one runs nothing dbsafe reads."""
    named = _META_COMMAND.match(line)
    command, rest = (named["command"], named["rest"]) if named else ("", "")
    if command in _CONDITIONALS:
        _conditional(command, _arguments(rest, session.variables), where, session)
        return []
    if not session.active:
        return []
    if command in _INCLUDES:
        arguments = _arguments(rest, session.variables)
        if not arguments:
            raise SourceError(f"{where}: \\{command} names no file (psql stops there)")
        name = os.path.expanduser(arguments[0])
        base = file.parent if _INCLUDES[command] else session.cwd
        target = Path(name) if os.path.isabs(name) else base / name
        if not target.is_file():
            raise SourceError(f"{where}: \\{command} {arguments[0]}: no such file "
                              f"({session.shown(target)}); psql stops there")
        return _read(target, session)
    if command == "set":
        arguments = _arguments(rest, session.variables)
        if arguments and "`" in rest:
            # psql sets it to a shell command's output, which dbsafe does not run: the
            # variable's name stands in for it (`:'name'` a literal that parses).
            session.variables[arguments[0]] = arguments[0]
        elif arguments:
            session.variables[arguments[0]] = "".join(arguments[1:])
    elif command == "unset":
        arguments = _arguments(rest, session.variables)
        if arguments:
            session.variables.pop(arguments[0], None)
    return []


def _conditional(command: str, arguments: list[str], where: str,
                 session: PsqlSession) -> None:
    """psql's `\\if` stack: each level is (whether its branch runs, whether one did)."""
    branches = session._branches
    if command == "if":
        runs = session.active and _boolean(" ".join(arguments), where)
        branches.append((runs, runs))
        return
    if not branches:
        raise SourceError(f"{where}: \\{command} without \\if (psql stops there)")
    _, taken = branches.pop()
    if command == "endif":
        return
    outer = session.active
    if command == "elif":
        runs = outer and not taken and _boolean(" ".join(arguments), where)
    else:
        runs = outer and not taken
    branches.append((runs, taken or runs))


def _boolean(value: str, where: str) -> bool:
    """A `\\if` value as psql reads it (`ParseVariableBool`)."""
    lowered = value.strip().lower()
    if lowered in ("1", "0"):
        return lowered == "1"
    if lowered:
        true = [word for word in _TRUE if word.startswith(lowered)]
        false = [word for word in _FALSE if word.startswith(lowered)]
        if len(true) + len(false) == 1:
            return bool(true)
    raise SourceError(f"{where}: \\if {value.strip()!r} is no boolean (psql stops there: "
                      "is a variable it names not set in sqitch.conf?)")


def _arguments(text: str, variables: Mapping[str, str]) -> list[str]:
    """A meta-command's arguments as psql reads them (`psqlscanslash.l`, its normal
    option): blank-separated words, `'...'` quoted (doubled quotes and backslash escapes
    inside), psql variables substituted in the unquoted parts; a backslash ends them."""
    words: list[str] = []
    at = 0
    while at < len(text):
        while at < len(text) and text[at] in " \t\r\f\v":
            at += 1
        if at >= len(text) or text[at] == "\\":
            break
        word = []
        while at < len(text) and text[at] not in " \t\r\f\v\\":
            match = _ARGUMENT.match(text, at)
            if match is None:
                break
            part = match.group()
            at = match.end()
            if part.startswith("'"):
                word.append(_unquoted(part))
            else:
                word.append(_expanded_argument(part, variables))
        words.append("".join(word))
    return words


def _unquoted(part: str) -> str:
    body = part[1:-1] if len(part) > 1 and part.endswith("'") else part[1:]
    escapes = {"n": "\n", "t": "\t", "b": "\b", "r": "\r", "f": "\f"}
    return re.sub(r"''|\\(.)", lambda m: "'" if m.group() == "''"
                  else escapes.get(m.group(1), m.group(1)), body)


def _expanded_argument(part: str, variables: Mapping[str, str]) -> str:
    """An unquoted piece of a meta-command's argument, its psql variables substituted
    (`:name`, `:'name'`, `:"name"`, `:{?name}`)."""
    def value(match: re.Match[str]) -> str:
        kind = match.lastgroup or "raw"
        found = variables.get(match[kind]) if kind == "raw" \
            else _value(kind, match[kind], variables, ())
        return match.group() if found is None else found

    return PSQL_VARIABLE.sub(value, part)

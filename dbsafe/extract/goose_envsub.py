"""goose's `-- +goose ENVSUB ON`: from that annotation to `-- +goose ENVSUB OFF`, goose
replaces `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}` and `${NAME:?message}` in
each line by the environment's value before sending it (its internal/sqlparser, through
mfridman/interpolate v0.0.2), and `$$` or `\\$` by `$`. dbsafe does the same with its own
environment, so the statements linted are the ones goose sends. A variable the environment
does not set (goose sends an empty value, or refuses the file for `${NAME:?}`) is kept as
written and named, as is a line goose refuses to substitute (`$1`: no name starts with a
digit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# goose's annotations (`-- +goose ...`, `extractAnnotation`): case matters for these two
_ENVSUB = re.compile(r"^\s*--\s*\+goose\s+ENVSUB\s+(?P<state>ON|OFF)\s*$")


class _Unknown(Exception):
    """A line whose substitution dbsafe cannot tell: kept as written."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Line:
    """One line read as mfridman/interpolate's `Parser` reads it (its grammar in parser.go)."""

    def __init__(self, text: str, environ: Mapping[str, str]) -> None:
        self.text, self.pos, self.environ = text, 0, environ

    def expression(self, stop: str = "") -> str:
        out = []
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            rest = self.text[self.pos:]
            if rest.startswith("\\\\"):
                out.append("\\\\")
                self.pos += 2
            elif rest.startswith(("\\$", "$$")):
                out.append("$")
                self.pos += 2
            elif rest.startswith("$("):
                out.append("$(")
                self.pos += 2
            elif rest[0] == "$" and len(rest) > 1:
                out.append(self.expansion())
            else:
                end = self.pos + 1
                while end < len(self.text) and self.text[end] not in "$\\" + stop:
                    end += 1
                out.append(self.text[self.pos:end])
                self.pos = end
        return "".join(out)

    def identifier(self) -> str:
        start = self.pos
        if start >= len(self.text) or not self.text[start].isalpha():
            raise _Unknown(self.text[start:start + 1] or "$")  # goose: the file fails
        while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                             or self.text[self.pos] == "_"):
            self.pos += 1
        return self.text[start:self.pos]

    def expansion(self) -> str:
        self.pos += 1  # the `$`
        if self.text[self.pos] != "{":
            return self.value(self.identifier())
        self.pos += 1
        name = self.identifier()
        rest = self.text[self.pos:]
        if rest.startswith("}"):
            self.pos += 1
            return self.value(name)
        operator = next((op for op in (":-", "-", "?") if rest.startswith(op)), None)
        if operator is None:  # `${NAME:offset:length}`, or no operator: not read here
            raise _Unknown(name)
        self.pos += len(operator)
        default = self.expression("}")
        if not self.text.startswith("}", self.pos):
            raise _Unknown(name)
        self.pos += 1
        value = self.environ.get(name)
        if operator == ":-":
            return value or default
        if operator == "-":
            return default if value is None else value
        return self.value(name)  # `?`: goose fails the file where it is not set

    def value(self, name: str) -> str:
        if name not in self.environ:
            raise _Unknown(name)
        return self.environ[name]


def fill_envsub(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with goose's substitutions made in its `ENVSUB ON` lines, and the names of the
    variables of the lines kept as written (not set in `environ`, or not read).

    >>> fill_envsub("-- +goose ENVSUB ON\\nCREATE TABLE t (a $T, b ${U:-int});\\n",
    ...             {"T": "text"})
    ('-- +goose ENVSUB ON\\nCREATE TABLE t (a text, b int);\\n', [])
    >>> fill_envsub("-- +goose ENVSUB ON\\nCREATE TABLE t (a $T);\\n", {})[1]
    ['T']
    >>> fill_envsub("CREATE TABLE t (a $T);\\n", {"T": "text"})[0]
    'CREATE TABLE t (a $T);\\n'
    """
    if "ENVSUB" not in text:
        return text, []
    lines = text.splitlines(keepends=True)
    on = False
    unknown: list[str] = []
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if (mark := _ENVSUB.match(body)) is not None:
            on = mark["state"] == "ON"
            continue
        if not on or "$" not in body or body.lstrip().startswith("--"):
            continue
        try:
            lines[number] = _Line(body, environ).expression() + line[len(body):]
        except _Unknown as exc:
            if exc.name not in unknown:
                unknown.append(exc.name)
    return "".join(lines), unknown


_NAME = re.compile(r"\$\{?([^\W\d_]\w*)")


def envsub_environ(text: str, environ: Mapping[str, str]) -> tuple[tuple[str, str | None], ...]:
    """The variables `text`'s `ENVSUB ON` lines may read, with their values in `environ`
    (None where not set): what a cache of the statements goose sends is keyed by.

    >>> envsub_environ("-- +goose ENVSUB ON\\nCREATE TABLE t (a $T, b ${U:-int});", {"T": "x"})
    (('T', 'x'), ('U', None))
    """
    names = sorted({n for line in text.splitlines() for n in _NAME.findall(line)})
    return tuple((n, environ.get(n)) for n in names)

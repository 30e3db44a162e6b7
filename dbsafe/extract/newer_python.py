"""Read Python written for a newer interpreter than the one dbsafe runs on.

dbsafe reads Python with the running interpreter's `ast`, whose grammar is its own: a
module using PEP 695's `def f[T]()`, `class C[T]`, `type X = ...` (3.12), PEP 701's f-strings
holding their own quotes (`f"{d["a"]}"`, 3.12), PEP 696's type parameter defaults (3.13),
PEP 758's `except A, B:` or PEP 750's t-strings (3.14), or 3.15's `lazy import` is a syntax
error there. When `ast.parse` refuses a module, libcst (whose parser reads Python 3.0 through
3.15) parses it, and only those constructs are rewritten into the older syntax, each line
kept where it was and, but where said, each column:

- a type parameter list (`[T: int = str]`) becomes blanks: `def f   (x)`, `class C   :`
  (one spanning lines keeps its lines, joined by backslashes);
- `type X[T] = v` becomes `X         = v`: the value where it was;
- a string inside an f-string's field quoted as that f-string (or one around it) is, when
  its text holds neither the other quote nor a backslash, quoted with the other one:
  `f"{d['a']}"`, the same value at the same columns;
- a t-string becomes the f-string of the same text (`t"..."` -> `f"..."`), and its place is
  kept (`Module.templates`): what reads SQL knows its fields are no f-string's;
- `except A, B:` becomes `except(A,B):` (the same length when the clause's blanks allow,
  else longer, where nothing follows on the line but code without quotes);
- `lazy import x` becomes `import x` (shorter, the same condition).

Anything else a newer Python allows (a backslash or a comment in an f-string's field, a
string in one that holds both quotes, a starred comprehension) is not rewritten: the module
stays unread, with the error the running interpreter gave, never guessed at.
"""

from __future__ import annotations

import ast
import io
import logging
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst

log = logging.getLogger(__name__)

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Module:
    """A module read: `text` is what `tree` was parsed from (the source, or its rewrite:
    every line where it was), `templates` the (lineno, col_offset) of the `ast.JoinedStr`
    nodes that were t-strings."""

    text: str
    tree: ast.Module
    templates: frozenset[tuple[int, int]] = frozenset()


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source)`, reading syntax of a newer Python as this module says.

    Raises:
        SyntaxError: the running interpreter's, when the module cannot be read either way.
        ValueError: as `ast.parse` does (a NUL byte).

    >>> parse("def first[T](items: list[T]) -> T:\\n    return items[0]\\n").body[0].name
    'first'
    """
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as error:
        text = _decoded(source) if isinstance(source, bytes) else source
        read = _rewritten(text, filename) if text is not None else None
        if read is None:
            raise error from None
        return read.tree


def read(source: str, filename: str = "<unknown>") -> Module:
    """`source` parsed, with the text its tree's positions are in (see `parse`).

    Raises:
        SyntaxError, ValueError: as `parse`.

    >>> module = read('try:\\n    x = f"{d["a"]}"\\nexcept KeyError, IndexError:\\n    pass\\n')
    >>> module.text.splitlines()[1:3]
    ['    x = f"{d[\\'a\\']}"', 'except(KeyError,IndexError):']
    """
    try:
        return Module(source, ast.parse(source, filename=filename))
    except SyntaxError as error:
        rewritten = _rewritten(source, filename)
        if rewritten is None:
            raise error from None
        return rewritten


def _decoded(data: bytes) -> str | None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None


def _rewritten(source: str, filename: str) -> Module | None:
    """`source` read through libcst and rewritten (see the module's docstring), or None."""
    try:
        import libcst
        from libcst.metadata import MetadataWrapper, PositionProvider
    except ImportError:  # pragma: no cover - a dependency; without it, as before
        return None
    try:
        wrapper = MetadataWrapper(libcst.parse_module(source), unsafe_skip_copy=True)
        positions = wrapper.resolve(PositionProvider)
    except Exception:  # whatever libcst cannot read stays unread, as before
        log.debug("%s: libcst cannot read it either", filename, exc_info=True)
        return None
    # Lines as Python counts them (`str.splitlines` also breaks at a form feed).
    starts = [0, *(match.end() for match in _NEWLINE.finditer(source))]
    rewriter = _Rewriter(source, wrapper.module, positions, starts)
    try:
        wrapper.module.visit(_visitor(rewriter))
    except _Refused as refused:
        log.debug("%s: not rewritten for this Python: %s", filename, refused)
        return None
    text = _applied(source, rewriter.edits)
    if text is None:
        return None
    try:
        tree = ast.parse(text, filename=filename)
    except (SyntaxError, ValueError):
        return None
    templates: set[tuple[int, int]] = set()
    if rewriter.templates:
        lines = _NEWLINE.split(text)
        wanted = {(line, len(lines[line - 1][:column].encode()))
                  for line, column in rewriter.templates}
        templates = {(node.lineno, node.col_offset) for node in ast.walk(tree)
                     if isinstance(node, ast.JoinedStr)
                     and (node.lineno, node.col_offset) in wanted}
    return Module(text, tree, frozenset(templates))


class _Refused(Exception):
    """A newer construct the rewrite cannot make readable without moving SQL text."""


_Edit = tuple[int, int, str]  # (start, end, replacement) in the source's characters


def _blank(text: str) -> str:
    """`text` as blanks, its lines kept, each but the last ended by a backslash (the
    statement goes on).

    >>> _blank("[T,\\n  U]")
    '  \\\\\\n    '
    """
    pieces = text.split("\n")
    out = []
    for index, piece in enumerate(pieces):
        if index == len(pieces) - 1:
            out.append(" " * len(piece))
            continue
        body = piece[:-1] if piece.endswith("\r") else piece
        out.append(" " * max(len(body) - 1, 0) + "\\" + piece[len(body):])
    return "\n".join(out)


def _applied(source: str, edits: list[_Edit]) -> str | None:
    """`source` with `edits` made; None where two overlap, one would move a line, or one
    changing a line's length has a quote after it on that line (a string there moves)."""
    out: list[str] = []
    previous = 0
    for start, end, replacement in sorted(edits):
        if start < previous or replacement.count("\n") != source.count("\n", start, end):
            return None
        if len(replacement) != end - start:
            line_end = source.find("\n", end)
            rest = source[end:] if line_end < 0 else source[end:line_end]
            if "'" in rest or '"' in rest:
                return None
        out.append(source[previous:start])
        out.append(replacement)
        previous = end
    out.append(source[previous:])
    return "".join(out)


def _visitor(rewriter: _Rewriter) -> libcst.CSTVisitor:
    """A libcst visitor calling `rewriter` (libcst is imported only on this path)."""
    import libcst

    class Visitor(libcst.CSTVisitor):
        def on_visit(self, node: libcst.CSTNode) -> bool:
            rewriter.enter(node)
            return True

        def on_leave(self, original_node: libcst.CSTNode) -> None:
            rewriter.leave(original_node)

    return Visitor()


class _Rewriter:
    """Collects the edits (`edits`) and the t-strings' (line, column) (`templates`)."""

    def __init__(self, source: str, module: libcst.Module, positions: Any,
                 starts: list[int]) -> None:
        import libcst

        self.source, self.module, self.positions, self.starts = source, module, positions, starts
        self.edits: list[_Edit] = []
        self.templates: list[tuple[int, int]] = []
        # The delimiters of the f-strings around the node visited: Python before 3.12 ends
        # one at its delimiter wherever it is, a field's string included.
        self.quotes: list[str] = []
        self._cst = libcst

    def enter(self, node: libcst.CSTNode) -> None:
        cst = self._cst
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.type_parameters:
            self._blank_node(node.type_parameters)
        elif isinstance(node, cst.TypeAlias):
            self._type_alias(node)
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            self._except(node)
        elif type(node).__name__ in ("LazyImport", "LazyImportFrom"):  # libcst 1.9
            start = self._offset(node)
            self._expect(start, "lazy")
            keyword = 4 + len(node.whitespace_after_lazy.value)  # type: ignore[attr-defined]
            self.edits.append((start, start + keyword, ""))
        elif isinstance(node, (cst.SimpleString, cst.FormattedString, cst.TemplatedString)):
            self._string(node)

    def leave(self, node: libcst.CSTNode) -> None:
        if isinstance(node, (self._cst.FormattedString, self._cst.TemplatedString)):
            self.quotes.pop()

    def _offset(self, node: libcst.CSTNode, *, end: bool = False) -> int:
        span = self.positions[node]
        where = span.end if end else span.start
        return self.starts[where.line - 1] + where.column

    def _expect(self, offset: int, text: str) -> None:
        """Refuse unless the source holds `text` at `offset`: libcst's columns are not
        Python's everywhere (a line starting with a form feed), and an edit must never land
        elsewhere."""
        if not self.source.startswith(text, offset):
            raise _Refused(f"expected {text!r} at offset {offset}")

    def _blank_node(self, node: libcst.CSTNode) -> None:
        start, end = self._offset(node), self._offset(node, end=True)
        self._expect(start, "[")
        self._expect(end - 1, "]")
        self.edits.append((start, end, _blank(self.source[start:end])))

    def _type_alias(self, node: libcst.TypeAlias) -> None:
        """`type X[T] = v` -> `X         = v`: `v` where it was."""
        start, value = self._offset(node), self._offset(node.value)
        self._expect(start, "type")
        head = self.source[start:value]
        equal = head.rfind("=")
        name = node.name.value
        if equal < len(name) or "\n" in head[:len(name)]:
            raise _Refused("a `type` statement's name")
        self.edits.append((start, start + equal, name + _blank(head[len(name):equal])))

    def _except(self, node: libcst.ExceptHandler | libcst.ExceptStarHandler) -> None:
        """`except A, B:` (PEP 758) -> `except(A,B):`."""
        kind = node.type
        if not isinstance(kind, self._cst.Tuple) or kind.lpar:
            return
        before = node.whitespace_after_star.value if isinstance(
            node, self._cst.ExceptStarHandler) else node.whitespace_after_except.value
        start = self._offset(kind) - len(before)
        end = self._offset(kind, end=True) + len(node.whitespace_before_colon.value)
        names = [self.module.code_for_node(element.value) for element in kind.elements]
        if any("\n" in name for name in names) or "\n" in self.source[start:end]:
            raise _Refused("an `except` clause spanning lines")
        self._expect(start + len(before), names[0])
        compact = "(" + ",".join(names) + ")"
        self.edits.append((start, end, compact.rjust(end - start)))

    def _string(self, node: Any) -> None:
        """Quote a string inside an f-string's field with the other quote where it is quoted
        as an f-string around it; a t-string as an f-string. Pushes an f-string's quote."""
        cst = self._cst
        if isinstance(node, cst.SimpleString):
            prefix, quote = node.prefix, node.quote
            body = node.value[len(prefix) + len(quote):-len(quote)]
        else:
            prefix, quote = node.start.rstrip("'\""), node.end
            body = "".join(part.value for part in node.parts
                           if isinstance(part, (cst.FormattedStringText,
                                                cst.TemplatedStringText)))
        start = self._offset(node)
        self._expect(start, prefix + quote)
        if isinstance(node, cst.TemplatedString):
            at = next(i for i, c in enumerate(prefix) if c in "tT")
            self.edits.append((start + at, start + at + 1, "f"))
            position = self.positions[node].start
            self.templates.append((position.line, position.column))
        if len(quote) == 1 and quote in self.quotes:
            other = "'" if quote == '"' else '"'
            if other in self.quotes or other in body or "\\" in body:
                raise _Refused("a string in an f-string's field holding both quotes")
            open_at = start + len(prefix)
            close_at = self._offset(node, end=True) - 1
            self._expect(close_at, quote)
            self.edits.append((open_at, open_at + 1, other))
            self.edits.append((close_at, close_at + 1, other))
            quote = other
        if not isinstance(node, cst.SimpleString):
            self.quotes.append(quote)

"""The `<script>` blocks of Vue and Svelte single-file components, read as JavaScript.

A `.vue` or `.svelte` file is markup whose top-level `<script>` elements hold the
component's code: Vue's `<script>` and `<script setup>`, Svelte's instance `<script>` and
its `<script context="module">` (Svelte 5: `<script module>`), each in JavaScript or, with
`lang="ts"` (`"tsx"`, `"jsx"`), TypeScript. Those blocks are found with Python's HTML
tokenizer (`html.parser`), which reads a `<script>`'s content as raw text up to its
`</script>`, as browsers and both frameworks' compilers do; then the file's text with
everything outside them blanked out (each character a space, line breaks kept) goes to the
JavaScript extractor (`dbsafe.extract.javascript`) as one program. So every finding keeps
its line and column in the component, and the blocks see each other's imports and
declarations, as they do once compiled (Vue puts `<script>` beside `<script setup>`;
Svelte's module script is in scope of its instance script).

Not read: a `<script src="...">` (its code is in another file, read on its own); a block
in another language (`lang="coffee"`) or of another type (`type="application/ld+json"`); a
`<script>` inside an element (in a Vue `<template>`, Svelte's `<svelte:head>`): it is no
block of the component; and expressions in the markup (`{{ }}`, `:prop="..."`,
`@click="..."`, Svelte's `{#await supabase.from(...)}`), which are no JavaScript program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from dbsafe.core import Location, Skipped

if TYPE_CHECKING:
    from dbsafe.extract.javascript import JsExtractResult, SqlNames

# `lang` values whose block is JavaScript or TypeScript, and the tree-sitter grammar of each.
_GRAMMARS = {None: "javascript", "": "javascript", "js": "javascript", "javascript": "javascript",
             "jsx": "javascript", "ts": "typescript", "typescript": "typescript", "tsx": "tsx"}
# `type` values of a script element holding code (svelte-preprocess reads `text/typescript`).
_CODE_TYPES = {None: None, "": None, "module": None, "text/javascript": None,
               "application/javascript": None, "text/babel": None, "text/jsx": None,
               "text/typescript": "typescript", "text/ts": "typescript"}
_END_TAG = re.compile(r"</script", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ScriptBlock:
    """One `<script>` block: its content's offsets in the file's text and its grammar."""

    start: int  # first character after `<script ...>`
    end: int  # the `<` of `</script>`
    grammar: str  # "javascript" | "typescript" | "tsx"


@dataclass(frozen=True, slots=True)
class Blocks:
    """A component's script blocks, and what in its markup could not be read."""

    blocks: tuple[ScriptBlock, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def script_blocks(text: str, path: str) -> Blocks:
    """The top-level `<script>` blocks holding JavaScript or TypeScript, in file order.

    Example:
        >>> text = '<template><p>{{ n }}</p></template>\\n<script setup lang="ts">\\nlet n = 1\\n</script>'
        >>> [(text[b.start:b.end], b.grammar) for b in script_blocks(text, "a.vue").blocks]
        [('\\nlet n = 1\\n', 'typescript')]
    """
    reader = _Markup(text)
    try:
        reader.feed(text)
        reader.close()
    except AssertionError as exc:  # html.parser asserts on some marked sections (`<![x`)
        line = text.count("\n", 0, reader.position()) + 1
        return Blocks(skipped=(Skipped(Location(path, line), f"markup not read: {exc}"[:200]),))
    blocks: list[ScriptBlock] = []
    skipped: list[Skipped] = []
    for start, attrs, content, end in reader.scripts:
        if any(outer < start and start < outer_end for outer, outer_end in reader.closed):
            continue  # inside an element: no block of the component
        if "src" in attrs:
            continue
        lang = attrs.get("lang")
        kind = attrs.get("type")
        lang = lang.strip().lower() if lang else lang
        kind = kind.strip().lower() if kind else kind
        if lang not in _GRAMMARS or kind not in _CODE_TYPES:
            continue
        if end is None:
            line = text.count("\n", 0, start) + 1
            skipped.append(Skipped(Location(path, line), "<script> without its </script>: "
                                   "the component's markup is malformed, the block not read"))
            continue
        grammar = _CODE_TYPES[kind] or _GRAMMARS[lang]
        blocks.append(ScriptBlock(content, end, grammar))
    return Blocks(tuple(blocks), tuple(skipped))


def program(text: str, blocks: tuple[ScriptBlock, ...]) -> str:
    """`text` with every character outside `blocks` a space (line breaks kept), and a `;`
    where each block ends, so that one block's last statement does not run on into the
    next (`x = f` then `(a)`): offsets, lines and columns are the file's.

    >>> text = "<script>a = f</script>\\n<script>(b)</script>"
    >>> program(text, script_blocks(text, "a.svelte").blocks)
    '        a = f;        \\n        (b);        '
    """
    out = [" " if char not in "\r\n" else char for char in text]
    for block in blocks:
        out[block.start:block.end] = text[block.start:block.end]
        out[block.end] = ";"
    return "".join(out)


def sql_in_component(text: str, path: str, *, names: SqlNames | None = None) -> JsExtractResult:
    """The SQL statements and supabase-js requests in a `.vue`/`.svelte` file's scripts.

    Locations are the component's own lines and columns. A file with no script block
    (a template only, `<script src>`) yields nothing; malformed markup a `Skipped` entry.
    """
    from dbsafe.extract.javascript import DEFAULT_NAMES, JsExtractResult, sql_in_javascript

    found = script_blocks(text, path)
    if not found.blocks:
        return JsExtractResult(skipped=found.skipped)
    grammars = {block.grammar for block in found.blocks}
    # TypeScript reads JavaScript too (both compilers want one language in a component).
    grammar = ("tsx" if "tsx" in grammars else "typescript" if "typescript" in grammars
               else "javascript")
    result = sql_in_javascript(program(text, found.blocks), path, names=names or DEFAULT_NAMES,
                               grammar=grammar)
    if found.skipped:
        return replace(result, skipped=(*found.skipped, *result.skipped))
    return result


class _Markup(HTMLParser):
    """Collects `<script>` elements and the spans of the elements that are closed."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.open: list[tuple[str, int]] = []  # (tag, offset of its `<`)
        self.closed: list[tuple[int, int]] = []  # (start, end) of elements with an end tag
        # (offset of `<script`, attributes, offset of its content, offset of `</script` or
        # None when it has none)
        self.scripts: list[tuple[int, dict[str, str | None], int, int | None]] = []

    def position(self) -> int:
        line, column = self.getpos()
        return self.line_starts[min(line, len(self.line_starts)) - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self.position()
        self.open.append((tag, start))
        if tag == "script":
            content = start + len(self.get_starttag_text() or "")
            self.scripts.append((start, dict(attrs), content, None))

    def handle_endtag(self, tag: str) -> None:
        end = self.position()
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                start = self.open[index][1]
                del self.open[index:]  # what is still open inside it was never closed
                self.closed.append((start, end))
                break
        else:
            return  # an end tag nothing opened
        if tag == "script" and self.scripts and self.scripts[-1][0] == start \
                and _END_TAG.match(self.text, end):
            begin, attrs, content, _ = self.scripts[-1]
            self.scripts[-1] = (begin, attrs, content, end)

"""The `<script>` blocks of Vue and Svelte single-file components, and the frontmatter and
scripts of Astro components, read as JavaScript.

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

An `.astro` file is a TypeScript frontmatter between `---` fences at its top, run on the
server, then markup whose `<script>` elements are browser scripts wherever they stand
(Astro bundles nested ones too). The frontmatter and the scripts are separate programs (a
name one of them declares is not in scope in the other), so each is read on its own; the
markup is tokenized with the frontmatter blanked out (`Array<string>` is no tag). Not read,
as above: a `<script src>`, other types (`application/ld+json`), expressions in the markup
(`{rows.map(...)}`).
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
# Astro's frontmatter: a `---` line first in the file (after blank space), up to the next line
# that starts with `---` (markup may follow on that line).
_FRONTMATTER_OPEN = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n")
_FRONTMATTER_CLOSE = re.compile(r"^---", re.MULTILINE)


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
    frontmatter: ScriptBlock | None = None  # an Astro component's, a program of its own


def script_blocks(text: str, path: str) -> Blocks:
    """The top-level `<script>` blocks holding JavaScript or TypeScript, in file order.

    Example:
        >>> text = '<template><p>{{ n }}</p></template>\\n<script setup lang="ts">\\nlet n = 1\\n</script>'
        >>> [(text[b.start:b.end], b.grammar) for b in script_blocks(text, "a.vue").blocks]
        [('\\nlet n = 1\\n', 'typescript')]
    """
    reader = _read_markup(text, text, path)
    if isinstance(reader, Skipped):
        return Blocks(skipped=(reader,))
    blocks, skipped = _code_blocks(text, path, reader, nested=False)
    return Blocks(tuple(blocks), tuple(skipped))


def _read_markup(markup: str, text: str, path: str) -> _Markup | Skipped:
    """`markup` (`text`, or `text` with parts blanked out) tokenized, or why it was not."""
    reader = _Markup(markup)
    try:
        reader.feed(markup)
        reader.close()
    except AssertionError as exc:  # html.parser asserts on some marked sections (`<![x`)
        line = text.count("\n", 0, reader.position()) + 1
        return Skipped(Location(path, line), f"markup not read: {exc}"[:200])
    return reader


def _code_blocks(text: str, path: str, reader: _Markup, *,
                 nested: bool) -> tuple[list[ScriptBlock], list[Skipped]]:
    """The script elements `reader` found that hold JavaScript or TypeScript code; with
    `nested` False only those that are no element's children."""
    blocks: list[ScriptBlock] = []
    skipped: list[Skipped] = []
    for start, attrs, content, end in reader.scripts:
        if not nested and any(outer < start and start < outer_end
                              for outer, outer_end in reader.closed):
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
    return blocks, skipped


def astro_blocks(text: str, path: str) -> Blocks:
    """An Astro component's frontmatter and its `<script>` blocks.

    Example:
        >>> text = "---\\nconst a: Array<string> = []\\n---\\n<div><script>go()</script></div>"
        >>> found = astro_blocks(text, "a.astro")
        >>> [text[b.start:b.end] for b in (found.frontmatter, *found.blocks)]
        ['const a: Array<string> = []\\n', 'go()']
    """
    frontmatter = None
    markup = text
    opened = _FRONTMATTER_OPEN.match(text)
    if opened:
        closed = _FRONTMATTER_CLOSE.search(text, opened.end())
        if closed is None:
            line = text.count("\n", 0, opened.end())
            return Blocks(skipped=(Skipped(Location(path, line), "frontmatter without its "
                                           "closing ---: the component is malformed, not read"),))
        frontmatter = ScriptBlock(opened.end(), closed.start(), "typescript")
        markup = re.sub(r"[^\r\n]", " ", text[:closed.end()]) + text[closed.end():]
    reader = _read_markup(markup, text, path)
    if isinstance(reader, Skipped):
        return Blocks(skipped=(reader,), frontmatter=frontmatter)
    blocks, skipped = _code_blocks(text, path, reader, nested=True)
    # Astro compiles its scripts as TypeScript; an `is:inline` one is JavaScript, which the
    # TypeScript grammar reads as well.
    blocks = [replace(block, grammar="typescript") for block in blocks]
    return Blocks(tuple(blocks), tuple(skipped), frontmatter)


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
    """The SQL statements and supabase-js requests in a `.vue`/`.svelte`/`.astro` file's
    scripts.

    Locations are the component's own lines and columns. A file with no script block
    (a template only, `<script src>`) yields nothing; malformed markup a `Skipped` entry.
    """
    from dbsafe.extract.javascript import JsExtractResult

    found = astro_blocks(text, path) if path.endswith(".astro") else script_blocks(text, path)
    # An Astro frontmatter runs on the server, the scripts in the browser: two programs.
    groups = [(found.frontmatter,) if found.frontmatter else (), found.blocks]
    results = [_read(text, path, group, names) for group in groups if group]
    if not results:
        return JsExtractResult(skipped=found.skipped)
    if len(results) == 1 and not found.skipped:
        return results[0]
    first = results[0]
    return replace(
        first,
        fragments=tuple(f for r in results for f in r.fragments),
        requests=tuple(q for r in results for q in r.requests),
        skipped=(*found.skipped, *(s for r in results for s in r.skipped)),
        ddl=tuple(d for r in results for d in r.ddl),
        runs_unseen_sql=any(r.runs_unseen_sql for r in results),
    )


def _read(text: str, path: str, blocks: tuple[ScriptBlock, ...],
          names: SqlNames | None) -> JsExtractResult:
    """`blocks` of `text` read as one program."""
    from dbsafe.extract.javascript import DEFAULT_NAMES, sql_in_javascript

    grammars = {block.grammar for block in blocks}
    # TypeScript reads JavaScript too (both compilers want one language in a component).
    grammar = ("tsx" if "tsx" in grammars else "typescript" if "typescript" in grammars
               else "javascript")
    return sql_in_javascript(program(text, blocks), path, names=names or DEFAULT_NAMES,
                             grammar=grammar)


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

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """`<x ... />`: an element with no content, as the component compilers read `/>`;
        so a `<script ... />` (Astro's `<script is:inline set:html={...} />`) has no code
        to read, and is no unclosed script (html.parser reads no content for it either)."""
        start = self.position()
        self.closed.append((start, start))

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

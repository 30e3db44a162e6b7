"""The `<script>` blocks of Vue and Svelte components, read as JavaScript at the component's
own lines and columns (`dbsafe.extract.components`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe.core import Location
from dbsafe.extract.components import script_blocks, sql_in_component
from dbsafe.extract.files import discover, extract_file


def _requests(text: str, path: str) -> list[tuple[str, str, int, int]]:
    """(kind, target, line, column of `from`/`rpc`) of each request found."""
    return [(r.kind, r.target.sql if r.target else "?", r.location.line, r.location.column)
            for r in sql_in_component(text, path).requests]


VUE = """\
<template>
  <ul><li v-for="n in notes" :key="n.id">{{ n.id < 3 ? '<b>' : n.body }}</li></ul>
</template>

<script lang="ts">
export const client = useSupabaseClient()
</script>

<script setup lang="ts">
const { data: notes } = await client.from('notes').select('id, body')
</script>

<style scoped>li { color: red }</style>
"""


def test_vue_blocks_are_read_at_the_components_lines_and_columns() -> None:
    result = sql_in_component(VUE, "Notes.vue")
    assert [(r.target.sql, r.location.line, r.location.column) for r in result.requests] == [
        ("notes", 10, 38)]
    select = result.requests[0].calls[1]
    # `body` in the select string, as an editor shows it in the .vue file.
    assert select.arguments[0].location(4) == Location("Notes.vue", 10, 64)


def test_a_block_on_the_script_tags_own_line_keeps_its_column() -> None:
    text = ('<script lang="ts">const q = supabase.from(\'a\').select(\'x\')</script>\n'
            "<p>hi</p>\n")
    assert _requests(text, "A.svelte") == [("from", "a", 1, 38)]


SVELTE = """\
<script context="module" lang="ts">
  import { createClient } from '@supabase/supabase-js'
  export const db = createClient('https://x.supabase.co', 'key')
</script>

<script lang="ts">
  let rows = db.from('notes').select('id')
</script>

{#each rows as r}<p>{r.id}</p>{/each}
<script module>
  const more = db.rpc('note_count')
</script>
"""


def test_svelte_instance_and_module_scripts_see_each_other() -> None:
    # `db` is made in the module script from supabase-js's factory: the instance script's
    # request through it is a request (Svelte's module script is in scope there).
    assert _requests(SVELTE, "Page.svelte") == [("from", "notes", 7, 17),
                                                ("rpc", "note_count", 12, 19)]


def test_one_blocks_last_statement_does_not_run_on_into_the_next() -> None:
    # Without a `;` between them, `const f = g` and `(supabase...)` would read as a call.
    text = ("<script>\nconst f = g\n</script>\n"
            "<script>\n(supabase.from('a').select('x'))\n</script>\n")
    assert _requests(text, "A.vue") == [("from", "a", 5, 11)]


@pytest.mark.parametrize("text", [
    pytest.param("<template><p>{{ supabase.from('a').select('x') }}</p></template>\n",
                 id="template-only"),
    pytest.param('<template><p/></template>\n<script src="./notes.ts"></script>\n'
                 "<script setup src=\"./x.ts\">supabase.from('a').select('x')</script>\n",
                 id="script-src"),
    pytest.param("<template><div><script>supabase.from('a').select('x')</script></div>"
                 "</template>\n", id="script-inside-the-template"),
    pytest.param("<svelte:head><script>supabase.from('a').select('x')</script></svelte:head>\n",
                 id="script-inside-svelte-head"),
    pytest.param('<script type="application/ld+json">{"a": 1}</script>\n'
                 "<script lang=\"coffee\">supabase.from('a').select('x')</script>\n",
                 id="not-javascript"),
    pytest.param("{#await supabase.from('a').select('x')}<p>...</p>{/await}\n",
                 id="svelte-markup-expression"),
])
def test_what_is_not_a_script_block_of_the_component_is_not_read(text: str) -> None:
    result = sql_in_component(text, "A.vue")
    assert (result.requests, result.fragments, result.skipped) == ((), (), ())


def test_sql_in_a_block_is_read_too() -> None:
    text = "<script>\nconst rows = await sql`SELECT id FROM notes`\n</script>\n"
    fragments = sql_in_component(text, "A.svelte").fragments
    assert [(f.sql, f.line, f.column) for f in fragments] == [("SELECT id FROM notes", 2, 24)]


def test_an_unclosed_script_is_a_skip_not_a_traceback() -> None:
    text = "<template><p/></template>\n<script setup>\nsupabase.from('a').select('x')\n"
    result = sql_in_component(text, "A.vue")
    assert result.requests == ()
    assert [(s.location.line, s.reason.split(":")[0]) for s in result.skipped] == [
        (2, "<script> without its </script>")]


@pytest.mark.parametrize("path, head", [("A.astro", "---\nconst id = 1\n---\n"),
                                        ("A.vue", ""), ("A.svelte", "")])
def test_a_self_closed_script_is_no_unclosed_one(path: str, head: str) -> None:
    # openpanel's Astro SDK: `<script is:inline set:html={...} />`, an element with no
    # content (as the component compilers read `/>`), was a skip saying the markup is
    # malformed; the script after it is still read.
    text = (f"{head}<script is:inline set:html={{`window.op('identify', ${{id}})`}} />\n"
            "<p>x</p>\n<script>\nconst rows = await sql`SELECT id FROM notes`\n</script>\n")
    result = sql_in_component(text, path)
    assert result.skipped == ()
    assert [f.sql for f in result.fragments] == ["SELECT id FROM notes"]


def test_a_component_ending_in_a_self_closed_script() -> None:
    text = "---\nconst id = 1\n---\n\n<script is:inline set:html={`op(${id})`} />"
    result = sql_in_component(text, "IdentifyComponent.astro")
    assert (result.fragments, result.skipped) == ((), ())


def test_markup_html_parser_rejects_is_a_skip_not_a_traceback() -> None:
    # Python 3.11's html.parser raises AssertionError on an unknown marked section; later
    # ones read it as a bogus comment. Either way: no traceback, nothing read from it.
    result = sql_in_component("<![weird <script>supabase.from('a')</script>\n", "A.vue")
    assert result.requests == ()
    assert all(s.reason.startswith("markup not read") for s in result.skipped)


def test_a_syntax_error_in_a_block_hides_only_what_it_holds() -> None:
    text = ("<script lang=\"ts\">\nconst a = supabase.from('a').select('x')\n"
            "const b = (((\n</script>\n")
    assert _requests(text, "A.vue") == [("from", "a", 2, 20)]


def test_blocks_are_found_by_the_markup_not_by_text() -> None:
    # A `<script` in a JavaScript string does not end or start a block; a comment's does not
    # start one.
    text = ("<!-- <script>supabase.from('c').select('x')</script> -->\n"
            "<script>\nconst s = '<script>'; supabase.from('a').select('x')\n</script>\n")
    blocks = script_blocks(text, "A.vue").blocks
    assert [text[b.start:b.end] for b in blocks] == [
        "\nconst s = '<script>'; supabase.from('a').select('x')\n"]
    assert _requests(text, "A.vue") == [("from", "a", 3, 32)]


def test_components_are_discovered_and_extracted(tmp_path: Path) -> None:
    files = {
        "src/App.vue": "<script setup>\nsupabase.from('a').select('x')\n</script>\n",
        "src/routes/+page.svelte": "<script>\nsupabase.from('b').select('x')\n</script>\n",
        "src/pages/index.astro": "---\nsupabase.from('c').select('x')\n---\n<p/>\n",
        # Generated folders, git-ignored or not: bundles built from the components above.
        ".astro/content.d.ts": "supabase.from('c').select('x')\n",
        ".svelte-kit/output/server/entries/page.js": "supabase.from('b').select('x')\n",
        ".nuxt/components/App.vue": "<script setup>supabase.from('a').select('x')</script>\n",
        ".output/server/chunks/app.mjs": "supabase.from('a').select('x')\n",
        "node_modules/ui/Button.vue": "<script>supabase.from('c')</script>\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = discover([tmp_path], root=tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "src/App.vue", "src/pages/index.astro", "src/routes/+page.svelte"]
    extracted = extract_file(tmp_path / "src/routes/+page.svelte", root=tmp_path)
    assert [(r.path, r.location.line) for r in getattr(extracted, "requests", ())] == [
        ("src/routes/+page.svelte", 2)]


ASTRO = """\
---
import Layout from '../layouts/Layout.astro'
import { createClient } from '@supabase/supabase-js'
const db = createClient(import.meta.env.SUPABASE_URL, import.meta.env.SUPABASE_KEY)
const ids: Array<string> = ['<script>']
const { data: posts } = await db.from('posts').select('id, title')
---
<Layout title="Posts">
  <ul>{posts.map((p) => <li>{p.title}</li>)}</ul>
  <button id="like">like</button>
  <script>
    import { supabase } from '../lib/supabase'
    supabase.from('likes').insert({ post_id: 1 })
    db.from('nope').select('x')
  </script>
</Layout>
<script type="application/ld+json">{"a": 1}</script>
"""


def test_astro_frontmatter_and_scripts_are_read_as_two_programs() -> None:
    # The frontmatter's request, and the nested `<script>`'s (Astro bundles it wherever it
    # stands); `db` is the frontmatter's, not in scope in the browser script: not a client
    # there. `Array<string>` and the `'<script>'` string in the frontmatter are no markup.
    assert _requests(ASTRO, "src/pages/index.astro") == [("from", "posts", 6, 34),
                                                         ("from", "likes", 13, 14)]


def test_an_astro_component_without_frontmatter_or_scripts() -> None:
    assert _requests("<p>{supabase.from('a').select('x')}</p>\n", "A.astro") == []
    assert _requests("<script>\nsupabase.from('a').select('x')\n</script>\n", "A.astro") == [
        ("from", "a", 2, 10)]
    assert _requests("---\nconst a = supabase.from('a').select('x')\n---\n", "A.astro") == [
        ("from", "a", 2, 20)]


def test_an_unclosed_astro_frontmatter_is_a_skip_not_a_traceback() -> None:
    result = sql_in_component("\n---\nsupabase.from('a').select('x')\n<p/>\n", "A.astro")
    assert result.requests == ()
    assert [(s.location.line, s.reason.split(":")[0]) for s in result.skipped] == [
        (2, "frontmatter without its closing ---")]

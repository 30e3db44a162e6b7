"""`dbsafe validate` over Vue and Svelte components: the supabase-js requests and SQL in
their `<script>` blocks are checked against a real PostgreSQL and reported at the
component's own line and column."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE notes (id bigint PRIMARY KEY, body text, author_id bigint);
CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM notes';
"""

FILES = {
    # Nuxt: `useSupabaseClient()` is auto-imported; a wrong column in the select string.
    "app/pages/notes.vue": """\
<template>
  <ul><li v-for="n in notes" :key="n.id">{{ n.id < 3 ? n.body : '' }}</li></ul>
</template>

<script setup lang="ts">
const supabase = useSupabaseClient()
const { data: notes } = await supabase.from('notes').select('id, bodyy')
</script>
""",
    # SvelteKit: the client made in the module script, a wrong column in the instance one.
    "src/routes/+page.svelte": """\
<script context="module" lang="ts">
  import { createClient } from '@supabase/supabase-js'
  export const db = createClient('https://x.supabase.co', 'key')
</script>

<script lang="ts">
  const count = db.rpc('note_count')
  const mine = db.from('notes').select('id').eq('author', 1)
</script>

{#await mine}<p>...</p>{/await}
""",
    # Correct requests and SQL: nothing to report.
    "app/components/NoteList.vue": """\
<script>
export default {
  async mounted() {
    const { data } = await this.$supabase.from('notes').select('id, body, author_id')
    const rows = await sql`SELECT id, body FROM notes WHERE author_id = ${this.me}`
  },
}
</script>
<template><p>{{ data }}</p></template>
""",
    "src/lib/Note.svelte": "<script>\n  import { supabase } from '$lib/supabase'\n  export let note\n"
                           "  supabase.from('notes').update({ body: note.body }).eq('id', note.id)\n"
                           "</script>\n<p>{note.body}</p>\n",
    # A template only, a `<script src>`, expressions in the markup: no script block to read.
    "app/components/Empty.vue": "<template>\n  <p>{{ supabase.from('nope').select('x') }}</p>\n"
                                "</template>\n",
    "app/components/Outside.vue": '<template><p/></template>\n<script src="./outside.ts">'
                                  "</script>\n",
    "src/lib/Await.svelte": "{#await supabase.from('nope').select('x')}<p/>{/await}\n",
    # Malformed: a `<script>` never closed.
    "src/lib/Broken.svelte": "<p>hi</p>\n<script lang=\"ts\">\n  db.from('nope').select('x')\n",
}


def _validate(root: Path, database_url: str, files: dict[str, str] = FILES):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    (root / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    settings = load_settings(root, {"database-url": database_url, "cache": False}, environ={})
    return commands.validate(settings, [root])


def test_wrong_columns_in_components_are_found_where_they_are_written(
        database_url: str, tmp_path: Path) -> None:
    report = _validate(tmp_path, database_url)
    assert [(f.code, f.location.path, f.location.line, f.location.column,
             dict(f.context).get("PostgreSQL"))
            for f in report.findings if f.location] == [
        ("DBS302", "app/pages/notes.vue", 7, 66,
         "42703: column notes.bodyy does not exist"),
        ("DBS302", "src/routes/+page.svelte", 8, 50,
         "42703: column notes.author does not exist"),
    ]
    # Every request in a script block was read; the two correct ones, the rpc and the SQL
    # statement too.
    assert (report.summary["statements"], report.summary["statements_analysed"]) == (6, 6)
    # The unclosed block is said, not a traceback, and nothing else was skipped.
    assert [(s.location.path, s.location.line, s.reason.split(":")[0])
            for s in report.skipped] == [
        ("src/lib/Broken.svelte", 2, "<script> without its </script>")]


def test_a_comment_in_a_block_suppresses_its_finding(database_url: str, tmp_path: Path) -> None:
    files = dict(FILES)
    files["app/pages/notes.vue"] = FILES["app/pages/notes.vue"].replace(
        "const { data: notes }", "// dbsafe: ignore[DBS302] lands next release\n"
        "const { data: notes }")
    files["src/lib/Note.svelte"] = "<!-- dbsafe: ignore[DBS302] -->\n" + FILES["src/lib/Note.svelte"]
    report = _validate(tmp_path, database_url, files)
    assert [(f.code, f.location.path, f.location.line) for f in report.findings
            if f.location] == [
        ("DBS302", "src/routes/+page.svelte", 8),
        ("DBS002", "src/lib/Note.svelte", 1),  # the markup's comment counts, and is unused
    ]


ASTRO_FILES = {
    # Server-side in the frontmatter: a wrong column; the markup's expression is not read.
    "src/pages/notes.astro": """\
---
import { supabase } from '../lib/supabase'
const { data } = await supabase.from('notes').select('id, boddy')
---
<ul>{data.map((n) => <li>{n.body}</li>)}</ul>
<script>
  // dbsafe: ignore[DBS302] the column lands with the next migration
  supabase.from('notes').update({ draft: true }).eq('id', 1)
</script>
""",
    # A browser script nested in the markup, and SQL in the frontmatter.
    "src/components/Note.astro": """\
---
const rows = await sql`SELECT id, body FROM notes WHERE author_id = ${Astro.props.me}`
---
<article>
  <script>
    import { supabase } from '../lib/supabase'
    await supabase.from('notes').insert({ body: 'x', author: 1 })
  </script>
</article>
""",
}


def test_astro_components_are_validated_at_their_own_lines(database_url: str,
                                                            tmp_path: Path) -> None:
    report = _validate(tmp_path, database_url, ASTRO_FILES)
    assert [(f.code, f.location.path, f.location.line, f.location.column,
             dict(f.context).get("PostgreSQL"))
            for f in report.findings if f.location] == [
        ("DBS302", "src/components/Note.astro", 7, 54, "42703: column notes.author does not exist"),
        ("DBS302", "src/pages/notes.astro", 3, 59, "42703: column notes.boddy does not exist"),
    ]
    assert (report.summary["statements"], report.summary["statements_analysed"]) == (4, 4)
    assert report.skipped == ()

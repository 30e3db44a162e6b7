"""A supabase-js table or select given by a call of a function of the file that returns one of
several strings is checked as each of them, read as if the function's body were written at the
call.

authority-engine's content route sends `.from(TABLE_MAP[typeResult.data])
.select(selectFieldsFor(typeResult.data))`, its function returning `${BASE_SELECT},
${imageCol}` with `imageCol = contentType === 'blog_post' ? 'featured_image_url' :
'hero_image_url'`: a DBS304 note, the select never checked. Each `return` of such a function
is now one of its strings, with what the tests on the way to it hold of its parameters, and a
parameter stands for what the call passes: a literal (`typo('blog_post')` is its first
string only), or a name or property never written, which ties the strings to a table chosen
by the same name (`featured_image_url` goes to `blog_posts` only). A function whose choice
cannot be said at the call (a call passed, a `switch`, a test on a name made from a
parameter, a `let` assigned, a property the file writes) stays a note: checking every string
on every table could report a column for a table the code never sends it to. Real
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE TABLE blog_posts (id int PRIMARY KEY, title text, featured_image_url text);
CREATE TABLE service_pages (id int PRIMARY KEY, title text, hero_image_url text);
"""

_MODULE = """\
const TABLE_MAP = { service_page: 'service_pages', blog_post: 'blog_posts' } as const
const BASE = 'id, title'

function selectFieldsFor(contentType: string): string {
  const imageCol = contentType === 'blog_post' ? 'featured_image_url' : 'hero_image_url'
  return `${BASE}, ${imageCol}`
}

const pickColumns = (kind: string) => {
  if (kind === 'blog_post') return 'id, featured_image_url'
  if (kind !== 'service_page') throw new Error(kind)
  return 'id, hero_image_url, titel'
}

function tableFor(kind: string) {
  return kind === 'blog_post' ? 'blog_posts' : 'service_pages'
}

const typo = (kind) => kind === 'blog_post' ? 'id, featured_imge_url' : 'id'

export async function read(supabase, params, schema) {
  const typeResult = schema.safeParse(params.type)
  const tableName = TABLE_MAP[typeResult.data]
  await supabase.from(tableName).select(selectFieldsFor(typeResult.data))
  await supabase.from(TABLE_MAP[params.kind]).select(pickColumns(params.kind))
  await supabase.from(tableFor(params.kind)).select(selectFieldsFor(params.kind))
  await supabase.from('blog_posts').select(typo('blog_post'))
  await supabase.from('service_pages').select(typo('service_page'))
}

function bySwitch(kind: string) {
  switch (kind) {
    case 'blog_post': return 'id, featured_image_url'
    default: return 'id, hero_image_url'
  }
}

function derived(kind: string) {
  const isBlog = kind === 'blog_post'
  return isBlog ? 'id, featured_image_url' : 'id, hero_image_url'
}

function assigns(kind: string) {
  let columns = 'id, hero_image_url'
  if (kind === 'blog_post') columns = 'id, featured_image_url'
  return columns
}

export async function notTied(supabase, kind: string, result, getType) {
  await supabase.from(TABLE_MAP[kind]).select(selectFieldsFor(getType()))
  await supabase.from(TABLE_MAP[kind]).select(bySwitch(kind))
  await supabase.from(TABLE_MAP[kind]).select(derived(kind))
  await supabase.from(TABLE_MAP[kind]).select(assigns(kind))
  await supabase.from(TABLE_MAP[result.data]).select(selectFieldsFor(result.data))
  result.data = kind
}
"""


@pytest.mark.db
def test_the_strings_a_function_of_the_file_returns_are_checked_where_the_call_sends_them(
        database_url: str, tmp_path: Path) -> None:
    """Each string is reported where it is written, for the tables the call pairs it with:
    `titel` only on `service_pages` (the first `return` is `blog_post`'s, the `throw` leaves
    for any other), `featured_imge_url` only where `typo` is given 'blog_post'; the table
    of `tableFor(kind)` and the select of `selectFieldsFor(kind)` agree on `kind`, and
    `TABLE_MAP[typeResult.data]` on `typeResult.data`. The five calls that cannot be tied
    are notes."""
    report = validate_module(database_url, tmp_path, _SCHEMA, "content.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 12, 31, "public.service_pages.titel"),
        ("DBS302", 19, 52, "public.blog_posts.featured_imge_url"),
        ("DBS304", 50, 18, "service_pages"),
        ("DBS304", 51, 18, "service_pages"),
        ("DBS304", 52, 18, "service_pages"),
        ("DBS304", 53, 18, "service_pages"),
        ("DBS304", 54, 18, "service_pages"),
    ]

"""A supabase-js select (or column) that is one of several strings the code shows is checked
as each of them.

Apps pick a select by a condition (`.select(full ? 'id, title, body' : 'id, title')`), from a
`const` object of selects (`SELECTS.full`, `SELECTS[kind]`), from a `let` assigned a string in
each branch, or join an array of column names (`['id', 'title'].join(',')`): each was a
DBS304 note, its columns never checked. What a call holding such a string names is reported
for each string; what another call names only when it is missing whichever string is sent
(the null test of an embedded resource that only one of the selects makes may be added only
with it). A `let` written otherwise (`+=`, a parameter), a `const` object or array the file
writes an entry of (`X.full = ...`, `X.splice(...)`), and more combinations than dbsafe tries
stay notes. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE TABLE authors (id int PRIMARY KEY, name text);
CREATE TABLE posts (id int PRIMARY KEY, title text, body text, author_id int REFERENCES authors);
"""

_MODULE = """\
const SELECTS = { full: 'id, title, bodyy', short: 'id, titel' } as const
const SORTS = { newest: 'id', title: 'title', odd: 'sort_key' }
const WRITTEN = { full: 'id, written' }
WRITTEN.full = 'id'

export async function read(supabase, full: boolean, kind: 'full' | 'short', sort, p: string) {
  await supabase.from('posts').select(full ? 'id, title, bdy' : 'id, ttle')
  await supabase.from('posts').select(SELECTS.full)
  await supabase.from('posts').select(SELECTS[kind]).order(SORTS[sort])
  let columns = 'id'
  if (full) {
    columns = `${columns === 'id' ? 'title' : 'body'}, nope`
  }
  await supabase.from('posts').select(columns)
  await supabase.from('posts').select(['id', 'title', 'joined'].join(','))
  let query = supabase.from('posts').select(full ? 'id, authors(name)' : 'id')
  if (full) query = query.not('authors', 'is', null)
  await query.eq('authr_id', 1)
  await supabase.from('posts').select(WRITTEN.full)
  let added = 'id'
  added += ', more'
  await supabase.from('posts').select(added)
  let given = 'id'
  if (full) given = p
  await supabase.from('posts').select(given)
  const picked = ['id', 'gone']
  picked.splice(1, 1)
  await supabase.from('posts').select(picked[full ? 0 : 1])
}
"""


@pytest.mark.db
def test_each_string_a_select_may_be_is_checked(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "posts.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 1, 37, "public.posts.bodyy"),
        ("DBS302", 1, 57, "public.posts.titel"),
        ("DBS302", 2, 53, "public.posts.sort_key"),
        ("DBS302", 7, 58, "public.posts.bdy"),
        ("DBS302", 7, 70, "public.posts.ttle"),
        ("DBS302", 12, 56, "public.posts.nope"),
        ("DBS302", 15, 56, "public.posts.joined"),
        # whether `authors` has rows is tested only with the select embedding it (with the
        # other, `authors` would be a column); the misspelt column of the filter every
        # request sends is missing with either select
        ("DBS302", 18, 19, "public.posts.authr_id"),
        ("DBS304", 19, 18, "posts"),
        ("DBS304", 22, 18, "posts"),
        ("DBS304", 25, 18, "posts"),
        ("DBS304", 28, 18, "posts"),
    ]


_USAGE_SCHEMA = """\
CREATE TABLE usage (org int, searched int, enriched int, runs int);
CREATE TABLE contacts (id int PRIMARY KEY, org int);
"""

# ANTON.IA's quota store: `contact` maps to a column the usage table lacks, but the function
# counts contacts elsewhere and returns before selecting `COLUMNS[resource]`.
_USAGE_MODULE = """\
const COLUMNS: Record<string, string> = { search: 'searched', enrich: 'enriched', contact: 'contacted' }
const NESTED = { search: 'searched', contact: 'nested' }
const LATE = { search: 'searched', contact: 'late' }
const WRITTEN = { search: 'searched', contact: 'written' }

export async function consume(supabase, resource: string) {
  let col = COLUMNS[resource]
  if (resource === 'contact') {
    return await supabase.from('contacts').select('id')
  }
  if (!col) col = 'runs'
  return await supabase.from('usage').select(col)
}

export async function status(supabase, params) {
  const { resource } = params
  if (resource === 'contact' || resource === 'other') {
    try {
      return await supabase.from('contacts').select('id')
    } catch {
      return null
    }
  }
  const col = COLUMNS[resource]
  return await supabase.from('usage').select(col)
}

export async function unguarded(supabase, resource: string, flag: boolean) {
  if (flag) {
    if (resource === 'contact') return null
  }
  if (resource === 'contact') console.log('contact')
  await supabase.from('usage').select(NESTED[resource])
  await supabase.from('usage').select(LATE[resource])
  if (resource === 'contact') return null
}

export async function rewritten(supabase, resource: string) {
  if (resource === 'contact') return null
  resource = resource.trim()
  await supabase.from('usage').select(WRITTEN[resource])
}
"""


@pytest.mark.db
def test_an_entry_the_code_returns_before_reading_is_not_checked(
        database_url: str, tmp_path: Path) -> None:
    """`X[key]` is each entry of `X` but those whose key an earlier `if (key === 'k')`
    leaves the function for (its body ends in a `return` or `throw`, a `try` whose block and
    `catch` do), when `key` is never written; an exit inside another `if`, one that does not
    leave, one after the read, and one on a name written later keep every entry."""
    report = validate_module(database_url, tmp_path, _USAGE_SCHEMA, "usage.ts", _USAGE_MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 2, 48, "public.usage.nested"),
        ("DBS302", 3, 46, "public.usage.late"),
        ("DBS302", 4, 49, "public.usage.written"),
    ]


_CONTENT_SCHEMA = """\
CREATE TABLE service_pages (id int PRIMARY KEY, title text);
CREATE TABLE social_posts (id int PRIMARY KEY, title text, body text);
CREATE TABLE media_assets (id int PRIMARY KEY, filename text);
"""

# authority-engine's calendar and approved-content routes: the table is `tableMap[type]`,
# the select `type === 'social_post' ? 'id, title, body' : 'id, title'`, so `body` is only
# ever asked of `social_posts`; and `media_assets` (the `video` entry) only in the branch
# that does not read the map.
_CONTENT_MODULE = """\
const tableMap: Record<string, string> = {
  service_page: 'service_pages',
  social_post: 'social_posts',
  video: 'media_assets',
}

export async function titles(supabase, entriesByType: Map<string, number[]>) {
  for (const [type, ids] of entriesByType) {
    if (type === 'video') {
      await supabase.from('media_assets').select('id, filename').in('id', ids)
    } else {
      const selectFields = type === 'social_post' ? 'id, title, body' : 'id, title'
      await supabase.from(tableMap[type] as never).select(selectFields).in('id', ids)
    }
  }
}

export async function approved(supabase, contentType: string) {
  if (contentType !== 'video') {
    const table = tableMap[contentType]
    await supabase.from(table).select(contentType !== 'social_post' ? 'id, titel' : 'body')
  }
}

export async function unrelated(supabase, kind: string, other: string) {
  if (kind === 'video') return null
  await supabase.from(tableMap[kind]).select(other === 'social_post' ? 'id, body' : 'id')
}

export async function rewritten(supabase, kind: string) {
  const cols = kind === 'social_post' ? 'id, body' : 'id'
  kind = kind.trim()
  await supabase.from(tableMap[kind]).select(cols)
}

export async function picked(supabase, kind: string, pick) {
  await supabase.from(tableMap[kind]).select(pick(kind))
}

export async function inline(supabase, kind: 'service_page' | 'social_post') {
  const table = { service_page: 'service_pages', social_post: 'social_posts' }[kind] as never
  await supabase.from(table).select('id, title, slug')
}
"""


@pytest.mark.db
def test_a_table_and_a_select_chosen_by_one_name_are_checked_together(
        database_url: str, tmp_path: Path) -> None:
    """`.from(X[kind])` with a select chosen by `kind === 'k'` (or `!==`, `||` of them) is
    checked only with the selects meant for each entry (`X.k` with the first string, the
    others with the second), and without the entries an `if` around it rules out (its
    `else` of `kind === 'video'`, its body of `kind !== 'video'`). A select chosen by another
    name, or by a name written after, is checked with every table; one that is not a literal
    is one note. An object literal subscripted where it is written (`{...}[kind]`) is each of
    its entries."""
    report = validate_module(database_url, tmp_path, _CONTENT_SCHEMA, "content.ts",
                             _CONTENT_MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 21, 76, "public.service_pages.titel"),
        ("DBS302", 27, 77, "public.service_pages.body"),
        ("DBS302", 31, 46, "public.media_assets.body"),
        ("DBS302", 31, 46, "public.service_pages.body"),
        # an object literal subscripted where it is written is each of its entries (a
        # column missing from both is one finding)
        ("DBS302", 42, 49, "public.service_pages.slug"),
        # a select that is not a literal is one note, not one for each table
        ("DBS304", 37, 18, "service_pages"),
    ]

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

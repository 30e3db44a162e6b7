"""A `let` a supabase-js request reads holds the value the statement just before gave it.

prato-rinaldo-webapp's cleanup job declares `let tableName = ""`, then in each `switch` case
assigns the case's table and sends `.from(tableName)` right after: every value the name was
ever given was checked at each request, so the empty initializer, never sent, was a false
DBS301 (no relation ``; PostgreSQL: 42601 for `""`). The last write before the read, a
statement of its own in a block around the read, is what is read there; a loop around the
read (its next turn brings a later write), a write in a closure or an `if`, and a `switch`
case falling through keep every value the name is given. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE TABLE posts (id int PRIMARY KEY, status text);
CREATE TABLE drafts (id int PRIMARY KEY, status text);
"""

_MODULE = """\
export async function purge(supabase, kind: string, full: boolean) {
  let table = ''
  switch (kind) {
    case 'post':
      table = 'posts'
      await supabase.from(table).select('status').eq('id', 1)
      break
    case 'draft': {
      table = 'drafts'
      await supabase.from(table).select('status').eq('id', 1)
      break
    }
    case 'note':
      table = 'notes'
      await supabase.from(table).select('status').eq('id', 1)
      break
  }
  let source = 'nowhere'
  source = 'posts'
  await supabase.from(source).select('id')
  let looped = 'posts'
  for (const id of [1, 2]) {
    await supabase.from(looped).select('id').eq('id', id)
    looped = 'gone'
  }
  let maybe = 'posts'
  if (full) maybe = 'archive'
  await supabase.from(maybe).select('id')
  let closed = 'drafts'
  const later = () => { closed = 'elsewhere' }
  later()
  await supabase.from(closed).select('id')
  let fell = 'posts'
  switch (kind) {
    case 'a':
      fell = 'fallen'
    case 'b':
      await supabase.from(fell).select('id')
  }
}
"""


@pytest.mark.db
def test_the_value_given_just_before_is_what_a_request_reads(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "purge.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS301", 14, "public.notes"),  # the one case whose table is missing
        ("DBS301", 24, "public.gone"),  # the loop's next turn reads it
        ("DBS301", 27, "public.archive"),  # assigned in an `if`: either value
        ("DBS301", 30, "public.elsewhere"),  # a closure may write it before the read
        ("DBS301", 36, "public.fallen"),  # case 'a' falls through into case 'b'
    ]


# pos-lia-hair's `getTransactionDetails` (task 503): `let tableName = ''`, a `switch` whose
# every case assigns the table and `break`s and whose `default` throws, then one request
# after the `switch`: the empty initializer never reaches it (it was a false DBS301, no
# relation ``). A `switch` with no `default`, or a case reaching its `break` unwritten, still
# lets the value from before the `switch` through.
_AFTER_SWITCH = """\
export async function details(supabase, kind: string, id: string) {
  let tableName = ''
  switch (kind) {
    case 'sale':
      tableName = 'posts'
      break
    case 'draft':
    case 'old-draft':
      tableName = 'drafts'
      break
    default:
      throw new Error(`unknown ${kind}`)
  }
  await supabase.from(tableName as 'posts' | 'drafts').select('*').eq('id', id)
  let open = 'nowhere'
  switch (kind) {
    case 'sale':
      open = 'posts'
      break
  }
  await supabase.from(open).select('id')
  let early = 'elsewhere'
  switch (kind) {
    case 'sale':
      break
    default:
      early = 'drafts'
  }
  await supabase.from(early).select('id')
}
"""


@pytest.mark.db
def test_after_a_switch_that_assigns_in_every_case_only_those_values_are_read(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "details.ts", _AFTER_SWITCH)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS301", 15, "public.nowhere"),  # no `default`: the initializer may reach it
        ("DBS301", 22, "public.elsewhere"),  # case 'sale' breaks unwritten
    ]

"""A supabase-js client a class keeps in `this.x` keeps the schema it was given.

A repository class made its client with `createClient(url, key, { db: { schema: 'app' } })`
(or `supabase.schema('app')`) in its constructor or a field, and its methods sent
`this.db.from('items')...`: such a `this.db` was no client at all (its requests never read),
and one named after supabase (`this.supabase`) had its tables looked up in `public`, where a
same-named table with other columns hid a missing column and a table only `public` has was
taken for it. A class assigning clients of two schemas to the same `this.x`, or one of a
schema that is not a literal, leaves its schema unknown. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, name text);
CREATE TABLE public.items (id int PRIMARY KEY, label text);
CREATE TABLE public.posts (id int PRIMARY KEY, title text);
"""

_MODULE = """\
import { createClient } from '@supabase/supabase-js'

export class ItemsRepository {
  private db
  constructor(url: string, key: string) {
    this.db = createClient(url, key, { db: { schema: 'app' } })
  }
  list() { return this.db.from('items').select('id, nme') }
  posts() { return this.db.from('posts').select('id') }
}

export class LabelsRepository {
  private supabase = createClient('u', 'k').schema('app')
  labels() { return this.supabase.from('items').select('label') }
}

export class EitherRepository {
  private db
  constructor(url: string, key: string, app: boolean) {
    this.db = createClient(url, key)
    if (app) this.db = createClient(url, key, { db: { schema: 'app' } })
  }
  list() { return this.db.from('items').select('label') }
}

export class SwitchingRepository {
  private supabase = createClient('u', 'k').schema('app')
  use(schema: string) { this.supabase = createClient('u', 'k').schema(schema) }
  list() { return this.supabase.from('items').select('label') }
}
"""


@pytest.mark.db
def test_a_client_kept_in_this_keeps_its_schema(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "items.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS301", 9, 34, "app.posts"),
        ("DBS302", 8, 53, "app.items.nme"),
        ("DBS302", 14, 57, "app.items.label"),
    ]

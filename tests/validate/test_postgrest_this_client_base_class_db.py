"""A supabase-js client a base class keeps in `this.x` is the client of its subclasses' methods.

A repository class of the file extends a base whose constructor makes the client (`this.db =
createClient(url, key, { db: { schema: 'app' } })`): the subclass's `this.db.from('items')`
was no request at all (never read), and its `this.supabase` had its tables looked up in every
schema. A subclass assigning the same `this.x` a client of another schema leaves its schema
unknown, in the base's methods too: `labels()` of a BillingItems reads billing's table, of a
Shared app's (its `label` was DBS302 on app's alone, and BillingItems' `name` on billing's).
A base that is not a class of the file (imported, a mixin's call) gives nothing. Real
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE SCHEMA app;
CREATE SCHEMA billing;
CREATE TABLE app.items (id int PRIMARY KEY, name text);
CREATE TABLE public.items (id int PRIMARY KEY, label text);
CREATE TABLE billing.items (id int PRIMARY KEY, label text);
"""

_MODULE = """\
import { createClient } from '@supabase/supabase-js'
import { Imported } from './base'

abstract class Base {
  protected db
  protected supabase
  constructor(url: string, key: string) {
    this.db = createClient(url, key, { db: { schema: 'app' } })
    this.supabase = createClient(url, key).schema('app')
  }
}

class Middle extends Base {}

export class ItemsRepository extends Middle {
  list() { return this.db.from('items').select('id, nme') }
  labels() { return this.supabase.from('items').select('label') }
}

class Shared {
  protected db
  constructor(url: string, key: string) { this.db = createClient(url, key, { db: { schema: 'app' } }) }
  labels() { return this.db.from('items').select('label') }
}

export class BillingItems extends Shared {
  constructor(url: string, key: string) {
    super(url, key)
    this.db = createClient(url, key, { db: { schema: 'billing' } })
  }
  names() { return this.db.from('items').select('name') }
}

export class Elsewhere extends Imported {
  list() { return this.db.from('items').select('nme') }
}

const mixin = (Base: any) => class extends Base {}
export class Mixed extends mixin(Base) {
  list() { return this.db.from('items').select('nme') }
}
"""


@pytest.mark.db
def test_a_client_a_base_class_keeps_in_this_is_its_subclasses(database_url: str,
                                                                 tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "items.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 16, 53, "app.items.nme"),
        ("DBS302", 17, 57, "app.items.label"),
    ]

"""supabase-js clients a function of the file hands out, and elements of a collection of them.

supabase-helpdesk's RLS tests sign each user in with `async function clientForUser(email)`,
which keeps the clients in a `Record<string, SupabaseClient>` and returns one of them or a
new `createClient(...)`; `const alice = await clientForUser('alice@test.com')` then sends
the requests: 385 of them were never read. A function returning anything else on one of its
paths (a Redis client) hands out no client, nor does one returning a client of another
schema, which its callers' requests would lose. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE TABLE tickets (id int PRIMARY KEY, title text); CREATE TABLE keys (k text);
CREATE FUNCTION close_ticket(ticket int) RETURNS void LANGUAGE sql AS '';
CREATE SCHEMA billing;
CREATE FUNCTION billing.close_ticket(invoice int) RETURNS void LANGUAGE sql AS ''"""

_TESTS = """\
import { createClient, SupabaseClient } from '@supabase/supabase-js'
import Redis from 'ioredis'

const clients: Record<string, SupabaseClient> = {}

async function clientForUser(email: string) {
  if (clients[email]) {
    return clients[email]
  }
  const c = createClient(url, anonKey)
  await c.auth.signInWithPassword({ email, password })
  clients[email] = c
  return c
}

const anonymous = () => createClient(url, anonKey)

function cacheOrClient(redis: boolean) {
  if (redis) return new Redis()
  return createClient(url, anonKey)
}

const billing = () => createClient(url, anonKey).schema('billing')
const accounts = createClient(url, anonKey, { db: { schema: 'billing' } })
const accounting = () => accounts

it('reads tickets', async () => {
  const alice = await clientForUser('alice@test.com')
  await alice.from('tickets').select('titel')
  await clients['bob@test.com'].from('tickets').insert({ id: 1, tittle: 'x' })
  const bob = clients['bob@test.com']
  await bob.from('tickets').select('id').eq('ttle', 'x')
  await anonymous().from('tickets').select('nope')
  await cacheOrClient(true).from('keys').select('nope')
  await billing().rpc('close_ticket', { invoice: 1 })
  await accounting().rpc('close_ticket', { invoice: 1 })
})
"""


@pytest.mark.db
def test_a_client_a_function_of_the_file_returns_is_read(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "tickets.test.ts", _TESTS)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 29, "public.tickets.titel"),
        ("DBS302", 30, "public.tickets.tittle"),
        ("DBS302", 32, "public.tickets.ttle"),
        ("DBS302", 33, "public.tickets.nope"),
    ]


_WORKER = """\
import { createSupabaseAdmin } from '../_shared/supabase.ts'
import Redis from 'ioredis'

class MiningSourceFetcher {
  private admin: ReturnType<typeof createSupabaseAdmin>
  private cache = new Redis()

  constructor(url: string, key: string) {
    this.admin = createSupabaseAdmin(url, key)
    this.billing = createSupabaseAdmin(url, key).schema('billing')
  }

  async fetch(id: number) {
    await this.billing.rpc('close_ticket', { invoice: id })
    await this.admin.from('tickets').select('titel').eq('id', id)
    await this.cache.from('keys').select('nope')
    return [1].map(() => this.admin.from('tickets').select('nope'))
  }
}

class Other {
  constructor() {
    this.admin = new Redis()
  }
  run() {
    return this.admin.from('keys').select('nope')
  }
}
"""


@pytest.mark.db
def test_a_client_a_class_keeps_in_this_is_read(database_url: str, tmp_path: Path) -> None:
    # leadminer's fetch-mining-source keeps its admin client so (`this.admin`); another
    # class's `this.admin` is its own, a Redis client is no client, and `this.billing`'s
    # requests would lose its schema.
    report = validate_module(database_url, tmp_path, _SCHEMA, "index.ts", _WORKER)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 15, "public.tickets.titel"),
        ("DBS302", 17, "public.tickets.nope"),
    ]


_LOADED = """\
const { createClient } = require('@supabase/supabase-js')
const { createClient: createRedis } = require('redis')

async function seed(page) {
  const { createServiceRoleClient } = await import('../helpers/supabase')
  const svc = createServiceRoleClient()
  await svc.from('tickets').select('titel')
  const db = createClient(url, key)
  await db.from('tickets').insert({ tittle: 'x' })
  const cache = createRedis()
  await cache.from('keys').select('nope')
}
"""


@pytest.mark.db
def test_a_factory_a_module_is_destructured_into_makes_clients(
        database_url: str, tmp_path: Path) -> None:
    # CommonJS's `require('@supabase/supabase-js')` and a Playwright test's `await
    # import('../helpers/supabase')` import their names as an `import` statement does
    # (supabase-helpdesk's e2e tests); `redis`'s `createClient` makes no client.
    report = validate_module(database_url, tmp_path, _SCHEMA, "seed.cjs", _LOADED)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 7, "public.tickets.titel"),
        ("DBS302", 9, "public.tickets.tittle"),
    ]


_ALIASED = """\
import { createClient } from '@supabase/supabase-js'
import { createClient as createRedis } from 'redis'
import * as pg from 'pg'
import Knex, { knex as makeKnex } from 'knex'

const supabase = createClient(url, key)
const cache = createRedis()
const supabaseKnex = makeKnex(config)

export async function load() {
  await supabase.from('tickets').select('titel')
  await cache.from('keys').select('nope')
  await supabaseKnex.from('keys').select('nope')
}
"""


@pytest.mark.db
def test_a_name_another_package_s_import_renames_is_not_that_package_s(
        database_url: str, tmp_path: Path) -> None:
    # `import { createClient as createRedis } from 'redis'` binds `createRedis`: supabase's
    # `createClient`, imported beside it, still makes clients (their requests were unread).
    report = validate_module(database_url, tmp_path, _SCHEMA, "load.ts", _ALIASED)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 11, "public.tickets.titel")]


_HONO = """\
import { Hono } from 'hono'

const app = new Hono()

app.get('/tickets', async (c) => {
  const { data } = await c.get('supabase').from('tickets').select('titel')
  await c.get('cache').from('keys').select('nope')
  await c.get('supabaseStorage').from('avatars').select('nope')
  return c.json(data)
})
"""


@pytest.mark.db
def test_hono_s_context_variable_named_after_the_client_is_one(
        database_url: str, tmp_path: Path) -> None:
    # Hono's supabase middleware sets `c.set('supabase', client)`; a route reads it back
    # with `c.get('supabase')`. Another variable (`cache`), or one saying storage, is not.
    report = validate_module(database_url, tmp_path, _SCHEMA, "routes.ts", _HONO)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 6, "public.tickets.titel")]


_REF = """\
import { useRef } from 'react'
import { createClient } from '@supabase/supabase-js'

export function useTickets() {
  const supabaseRef = useRef(createClient(url, key))
  const supabaseTimer = useRef(new Map())
  return async () => {
    await supabaseRef.current.from('tickets').select('titel')
    await supabaseTimer.current.from('keys').select('nope')
  }
}
"""


@pytest.mark.db
def test_a_react_ref_named_after_the_client_holds_one(
        database_url: str, tmp_path: Path) -> None:
    # `supabaseRef.current`: the client React's ref keeps; a ref of something else, however
    # named, is not.
    report = validate_module(database_url, tmp_path, _SCHEMA, "useTickets.ts", _REF)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 8, "public.tickets.titel")]

"""supabase-js/PostgREST clients kept under the name `client` by something named after them.

webstudio keeps its `PostgrestClient` in `context.postgrest.client` (an `AppContext` built
elsewhere), and nuxt-supabase-starter's handlers take theirs with `const { client } =
getAuthedSupabase(event)`: none of those requests was read, 160 in webstudio alone. Another
library's `client` (`const { client } = getRedis()`, `ctx.cache.client`) is still none.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = 'CREATE TABLE "User" (id text PRIMARY KEY, email text); CREATE TABLE profiles (id uuid)'

_HANDLERS = """\
import type { AppContext } from '@webstudio-is/trpc-interface/index.server'

export const getUser = async (context: AppContext, id: string) =>
  context.postgrest.client.from('User').select('id, emial').eq('id', id).single()

export default defineEventHandler(async (event) => {
  const { client } = getAuthedSupabase(event)
  const { client: admin } = await getSupabaseAdmin()
  await admin.from('profiles').select('nickname')
  return client.from('profiles').select('id').eq('idX', 1)
})

export async function cached(ctx, key: string) {
  const { client } = getRedis()
  await client.from('keys').select('nope')
  return ctx.cache.client.from('keys').select('nope')
}
"""


@pytest.mark.db
def test_a_client_held_by_a_thing_named_after_supabase_or_postgrest_is_read(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "handlers.ts", _HANDLERS)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 4, "public.User.emial"),
        ("DBS302", 9, "public.profiles.nickname"),
        ("DBS302", 10, "public.profiles.idX"),
    ]


_SERVICES = """\
@Injectable()
export class ProfilesService {
  constructor(private readonly supabaseService: SupabaseService, private redis: RedisService) {}

  async find(id: string) {
    const { data } = await this.supabaseService.getClient().from('profiles').select('nickname')
    const client = this.supabaseService.getAdminClient()
    await client.from('User').select('emial')
    await this.redis.getClient().from('keys').select('nope')
    return this.supabaseStorage.getClient().from('avatars').list()
  }
}
"""


@pytest.mark.db
def test_a_client_a_thing_named_after_supabase_hands_out_is_read(
        database_url: str, tmp_path: Path) -> None:
    # NestJS's and Angular's `SupabaseService` wraps the client: its requests were never read
    # (ng-alain-gighub-supabase's ten repositories). A Redis service's client is none, and a
    # storage holder's `from()` a bucket.
    report = validate_module(database_url, tmp_path, _SCHEMA, "profiles.service.ts", _SERVICES)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 6, "public.profiles.nickname"),
        ("DBS302", 8, "public.User.emial"),
    ]


_NUXT_STORE = """\
import { useNuxtApp } from '#app'
import Redis from 'ioredis'

export async function reset(userId: string) {
  const { $supabase } = useNuxtApp()
  await $supabase.client.from('profiles').upsert({ id: userId, nickname: 'x' })
  const supabaseCache = new Redis()
  await supabaseCache.client.from('keys').select('nope')
  return $supabaseStorage.client.from('avatars').upload('a.png', file)
}
"""


@pytest.mark.db
def test_the_client_of_a_holder_named_after_supabase_is_read(
        database_url: str, tmp_path: Path) -> None:
    # TarkovTracker's Nuxt plugin provides `$supabase` as `{ client, user }`, and its stores
    # send `$supabase.client.from('user_progress')...` (9 requests): none was read. What
    # another library made, and a storage holder's `from()` (a bucket), are still none.
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _NUXT_STORE)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 6, "public.profiles.nickname"),
    ]

"""A client held on a member (`globalForDb.pool`, `globalThis.pgPool`, `this.pool`) is a client.

Next.js projects keep their pool on the global object to survive hot reloads (`const
globalForDb = globalThis as unknown as { pool?: Pool }; export const pool = globalForDb.pool
?? new Pool(); if (process.env.NODE_ENV !== 'production') globalForDb.pool = pool;`,
`globalThis.pgPool ??= new Pool()`, `global.__db ||= postgres(url)`), and services keep
theirs on `this` (`this.pool = new Pool()`, then `this.pool.query(...)` in the methods).
Only bindings were followed to the client they hold (task 585), so a statement of lower-case
keywords sent on such a member was not read, a postgres.js client held so was no tag, and a
class sending through `this.db` in a module loading no driver was no wrapper. A member every
value of which the module (the class, for `this.x`) gives it is a client of one driver is
now followed; one also given anything else, or written where it cannot be seen
(`Object.assign(this, ...)`, a parameter property), is not. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    ALBUM_DDL,
    assert_prepares,
    located_findings,
    validate_album_project,
)

_NEXT = """\
import { Pool } from 'pg';
import postgres from 'postgres';

const globalForDb = globalThis as unknown as { pool?: Pool; cache?: Pool; sql?: postgres.Sql };

export const pool = globalForDb.pool ?? new Pool({ connectionString: process.env.URL });
if (process.env.NODE_ENV !== 'production') globalForDb.pool = pool;

globalThis.pgPool ??= new Pool();
global.__db ||= postgres(process.env.URL);

globalForDb.cache ??= new Pool();
globalForDb.cache = makeCache();

export async function main() {
  await pool.query('select titel from album');
  await globalThis.pgPool.query('select lable from album');
  await global.__db`SELECT nosuch FROM album`;
  await globalForDb.cache.query('select other from album');
}
"""


@pytest.mark.db
def test_a_client_kept_on_the_global_object_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {"src/lib/db.ts": _NEXT})
    # lower-case keywords are read on a PostgreSQL client only; `cache` is not only one
    assert located_findings(report) == [
        ("DBS302", "src/lib/db.ts", 16, "public.album.titel"),
        ("DBS302", "src/lib/db.ts", 17, "public.album.lable"),
        ("DBS302", "src/lib/db.ts", 18, "public.album.nosuch"),
    ]
    assert report.summary["statements_analysed"] == 3
    assert_prepares(database_url, ALBUM_DDL, ("select title from album",),
                    ("select titel from album", "select lable from album",
                     "SELECT nosuch FROM album"))


_SERVICE = """\
import { Pool } from 'pg';

export class AlbumService {
  private client: Pool | null = null;

  constructor() {
    this.pool = new Pool();
  }

  get db(): Pool {
    return (this.client ??= new Pool({ max: 2 }));
  }

  async find() {
    await this.pool.query('select titel from album');
    return this.db.query('select lable from album where id = $1', [1]);
  }
}

export class Injected {
  constructor(private pool: Pool) {}
  find() { return this.pool.query('select nosuch from album'); }
}

export class Configured {
  constructor(options) {
    this.pool = new Pool();
    Object.assign(this, options);
  }
  find() { return this.pool.query('select other from album'); }
}
"""


@pytest.mark.db
def test_a_client_a_class_keeps_on_this_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {"src/album.service.ts": _SERVICE})
    # `Injected` is given its pool (whatever the caller has), `Configured` may be given
    # another by `Object.assign`: neither is followed
    assert located_findings(report) == [
        ("DBS302", "src/album.service.ts", 15, "public.album.titel"),
        ("DBS302", "src/album.service.ts", 16, "public.album.lable"),
    ]
    assert report.summary["statements_analysed"] == 2


_POOL = """\
import pg from 'pg';
export const pool = new pg.Pool({ connectionString: process.env.URL });
export const makePool = () => new pg.Pool({ connectionString: process.env.URL });
"""

# Modules loading no driver: they send through what `pool.js` exports, held on members.
_REPO = """\
import { pool } from './db/pool';
import { makeSearch } from './search';

export class Repo {
  constructor() {
    this.db = pool;
  }
  q(text, params) {
    return this.db.query(text, params);
  }
}

export class Mixed {
  constructor(search) {
    this.db = search ? makeSearch() : pool;
  }
  q(text) {
    return this.db.query(text);
  }
}
"""

_SHARED = """\
import { makePool } from './pool';

const globalForDb = globalThis as unknown as { pool?: ReturnType<typeof makePool> };
const shared = globalForDb.pool ?? makePool();
if (process.env.NODE_ENV !== 'production') globalForDb.pool = shared;

export async function run(sql: string) {
  return shared.query(sql);
}
"""

_SEARCH = """\
export const makeSearch = () => ({ query: (text) => fetch(`/search?q=${text}`) });
"""

_ROUTES = """\
import { Repo, Mixed } from './repo';
import { run } from './db/shared';
const repo = new Repo();
const mixed = new Mixed(false);
export const a = () => repo.q('SELECT titel FROM album WHERE id = $1', [1]);
export const b = () => mixed.q('SELECT lable FROM album');
export const c = () => run('SELECT nosuch FROM album');
"""


@pytest.mark.db
def test_a_wrapper_sending_through_a_member_client_is_followed(
        database_url: str, tmp_path: Path) -> None:
    report = validate_album_project(database_url, tmp_path, {
        "src/db/pool.js": _POOL, "src/db/shared.ts": _SHARED, "src/repo.js": _REPO,
        "src/search.js": _SEARCH, "src/routes.js": _ROUTES,
    })
    # `Mixed` may send to what `makeSearch` makes: not read
    assert located_findings(report) == [
        ("DBS302", "src/routes.js", 5, "public.album.titel"),
        ("DBS302", "src/routes.js", 7, "public.album.nosuch"),
    ]
    assert report.summary["statements_analysed"] == 2

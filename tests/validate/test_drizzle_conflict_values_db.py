"""drizzle's `sql` given to `.onConflictDoUpdate({...})` or `.onConflictDoNothing({...})`.

drizzle-orm 0.45.4 writes `db.insert(items).values({...}).onConflictDoUpdate({ target:
items.id, set: { rank: sql`excluded.rank + ${items.rank}` } })` as `insert into "items" (...)
values (...) on conflict ("id") do update set "rank" = excluded.rank + "items"."rank"`, a
`setWhere`/`where` after its `set`, and `.onConflictDoNothing({ target, where })`'s `where`
as the target's predicate (`_SENT`, printed by its `toSQL()`). Those values were not read at
all; each is now checked in an INSERT ... ON CONFLICT on the target's columns, where it may
read the table and `excluded`, so `excluded.ranks` (42703) is found and `excluded.rank` is
not. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, drizzle_project, validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE items (id int PRIMARY KEY, list_id int, rank int, name text, UNIQUE (id, list_id));
"""

_DRIZZLE_SCHEMA = """\
import { pgTable, integer, text } from 'drizzle-orm/pg-core';
export const items = pgTable('items', {
  id: integer('id').primaryKey(), listId: integer('list_id'), rank: integer('rank'),
  name: text('name'),
});
"""

_QUERIES = """\
import { sql } from 'drizzle-orm';
import { items } from '@/db/schema';

export async function save(db: Db, id: number) {
  await db.insert(items).values({ id, rank: 2 }).onConflictDoUpdate({ target: items.id, set: { rank: sql`excluded.rank + ${items.rank}` } });
  await db.insert(items).values({ id, listId: 2 }).onConflictDoUpdate({
    target: [items.id, items.listId],
    set: { rank: sql`(SELECT max(rank) FROM items WHERE list_id = excluded.list_id)`, name: 'x' },
  });
  await db.insert(items).values({ id }).onConflictDoUpdate({ target: items.id, set: { rank: sql`coalesce(excluded.rank, 0)` }, setWhere: sql`${items.rank} < 5` });
  await db.insert(items).values({ id }).onConflictDoNothing({ target: items.id, where: sql`${items.listId} IS NOT NULL` });
  await db.insert(items).values({ id, rank: 2 }).onConflictDoUpdate({ target: items.id, set: { rank: sql`excluded.ranks` } });
  await db.insert(items).values({ id }).onConflictDoUpdate({ target: items.id, set: { name: 'x' }, setWhere: sql`items.ranks < 5` });
  await db.insert(items).values({ id }).onConflictDoUpdate({ target: other, set: { rank: sql`excluded.ranks` } });
}
"""

# drizzle-orm 0.45.4's `toSQL()` of `_QUERIES`' first four statements
_SENT = (
    'insert into "items" ("id", "list_id", "rank", "name") values ($1, default, $2, default)'
    ' on conflict ("id") do update set "rank" = excluded.rank + "items"."rank"',
    'insert into "items" ("id", "list_id", "rank", "name") values ($1, $2, default, default)'
    ' on conflict ("id","list_id") do update set "rank" = (SELECT max(rank) FROM items WHERE'
    ' list_id = excluded.list_id), "name" = $3',
    'insert into "items" ("id", "list_id", "rank", "name") values ($1, default, default,'
    ' default) on conflict ("id") do update set "rank" = coalesce(excluded.rank, 0) where'
    ' "items"."rank" < 5',
    'insert into "items" ("id", "list_id", "rank", "name") values ($1, default, default,'
    ' default) on conflict ("id") where "items"."list_id" IS NOT NULL do nothing',
)
# ... and of the next two, which PostgreSQL refuses (42703)
_REFUSED = (
    'insert into "items" ("id", "list_id", "rank", "name") values ($1, default, $2, default)'
    ' on conflict ("id") do update set "rank" = excluded.ranks',
    'insert into "items" ("id", "list_id", "rank", "name") values ($1, default, default,'
    ' default) on conflict ("id") do update set "name" = $2 where items.ranks < 5',
)


def test_postgresql_prepares_what_drizzle_sends(database_url: str) -> None:
    assert_prepares(database_url, _SCHEMA, _SENT, _REFUSED)


def test_conflict_values_are_checked_where_drizzle_writes_them(
        database_url: str, tmp_path: Path) -> None:
    drizzle_project(tmp_path, _DRIZZLE_SCHEMA)
    report = validate_module(database_url, tmp_path, _SCHEMA, "save.ts", _QUERIES)
    found = sorted((f.code, f.location.line, f.location.column)
                   for f in report.findings if f.location)
    # `excluded.ranks` and `items.ranks` (42703); nothing else: `excluded.rank` is a column
    assert found == [("DBS302", 12, 115), ("DBS302", 13, 120)]
    # the first statement's value, the second's, the third's and its `setWhere`, the
    # fourth's `where`, the two refused; a target not of the schema (`other`): not read
    assert report.summary["statements"] == 7
    assert report.summary["statements_analysed"] == 7
    assert report.summary["statements_unparsed"] == 0

"""drizzle's `sql` given to `.set({...})` or `.values({...})`: a value of its statement.

drizzle-orm 0.45.4 writes `db.update(workflow).set({ runs: sql`(SELECT count(*) FROM items)
+ 1` })` as `update "workflow" set "runs" = (SELECT count(*) FROM items) + 1 ...` and
`db.insert(items).values({ rank: sql`(...)` })` as `insert into "items" (...) values (...,
(...))` (`_SENT`, printed by its `toSQL()`): the template is an expression there, never a
statement sent alone. Read as one, `(SELECT count(*) FROM items) + 1` was unparsable, a
subquery reading the updated table (`workflow.workspace_id`) was not analysed, and so was
`(SELECT max(ranks) FROM items)`, which PostgreSQL refuses (42703). Each is now checked in
the statement drizzle sends it in, `UPDATE "workflow" SET "runs" = <value>`, `INSERT INTO
"items" ("rank") VALUES (<value>)` (the table and column of the project's drizzle schema), so
a `${...}` opening the value is a parameter (`sql`${n}::int``); a value of an update that
joins more tables (`.from(workspace)`) is left alone. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import drizzle_project, validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE workspace (id int PRIMARY KEY, billed_account_user_id int);
CREATE TABLE workflow (id int PRIMARY KEY, workspace_id int, billed_user_id int, runs int);
CREATE TABLE items (id int PRIMARY KEY, list_id int, rank int);
"""

_DRIZZLE_SCHEMA = """\
import { pgTable, integer } from 'drizzle-orm/pg-core';
export const workspace = pgTable('workspace', {
  id: integer('id').primaryKey(),
  billedAccountUserId: integer('billed_account_user_id'),
});
export const workflow = pgTable('workflow', {
  id: integer('id').primaryKey(),
  workspaceId: integer('workspace_id'),
  billedUserId: integer('billed_user_id'),
  runs: integer('runs'),
});
export const items = pgTable('items', {
  id: integer('id').primaryKey(), listId: integer('list_id'), rank: integer('rank'),
});
"""

_QUERIES = """\
import { sql, eq } from 'drizzle-orm';
import { workflow, workspace, items } from '@/db/schema';

export async function bill(db: Db, id: number) {
  await db.update(workflow).set({
    billedUserId: sql`(select w.billed_account_user_id from workspace w where w.id = workflow.workspace_id)`,
    runs: sql`(SELECT count(*) FROM items) + 1`,
  }).where(eq(workflow.id, id));
  await db.insert(items).values({ id, listId: 1, rank: sql`(SELECT coalesce(max(rank), 0) + 1 FROM items WHERE list_id = ${1})` });
  await db.insert(items).values({ id, rank: sql`(SELECT max(ranks) FROM items)` });
  await db.update(workflow).set({ runs: sql`${workflow.runs} + ${1}` }).where(eq(workflow.id, id));
  await db.update(workflow).set({ runs: sql`(SELECT count(*) FROM items i WHERE i.list_id = workspace.id)` }).from(workspace);
  await db.update(workflow).set({ runs: sql`${'3'}::int` }).where(eq(workflow.id, id));
}
"""

# drizzle-orm 0.45.4's `toSQL()` of `_QUERIES`' statements, in order
_SENT = (
    'update "workflow" set "billed_user_id" = (select w.billed_account_user_id from workspace w'
    ' where w.id = workflow.workspace_id), "runs" = (SELECT count(*) FROM items) + 1'
    ' where "workflow"."id" = $1',
    'insert into "items" ("id", "list_id", "rank") values ($1, $2, (SELECT coalesce(max(rank),'
    ' 0) + 1 FROM items WHERE list_id = $3))',
    'update "workflow" set "runs" = "workflow"."runs" + $1 where "workflow"."id" = $2',
    'update "workflow" set "runs" = (SELECT count(*) FROM items i WHERE i.list_id ='
    ' workspace.id) from "workspace"',
    'update "workflow" set "runs" = $1::int where "workflow"."id" = $2',
)
_REFUSED = ('insert into "items" ("id", "list_id", "rank") values ($1, default,'
            ' (SELECT max(ranks) FROM items))')


def test_postgresql_prepares_what_drizzle_sends(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        for number, statement in enumerate(_SENT):
            conn.execute(f"PREPARE sent_{number} AS {statement}")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute(f"PREPARE refused AS {_REFUSED}")
        # the pieces alone, as they were read: the sum is no statement (42601)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("PREPARE alone AS (SELECT count(*) FROM items) + 1")


def test_set_and_values_are_checked_where_drizzle_writes_them(
        database_url: str, tmp_path: Path) -> None:
    drizzle_project(tmp_path, _DRIZZLE_SCHEMA)
    report = validate_module(database_url, tmp_path, _SCHEMA, "billing.ts", _QUERIES)
    found = sorted((f.code, f.location.line, f.location.column)
                   for f in report.findings if f.location)
    assert found == [("DBS302", 10, 61)]  # `ranks` (42703), nothing else
    # the two values of the first update, the two inserts', the next update's and the
    # last's; the one of `.from(workspace)` may read that table too: not read
    assert report.summary["statements"] == 6
    assert report.summary["statements_analysed"] == 6
    assert report.summary["statements_unparsed"] == 0


def test_set_of_another_library_is_read_as_before(database_url: str, tmp_path: Path) -> None:
    """Kysely's `sql` given to an object of a `.set({...})`: no drizzle chain, read as it was
    (a statement where it reads as one)."""
    source = ("import { sql } from 'kysely';\n"
              "export const f = (q: Q) => q.set({ n: sql`SELECT count(*) FROM itemz` });\n")
    report = validate_module(database_url, tmp_path, _SCHEMA, "other.ts", source)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS301", 2)]

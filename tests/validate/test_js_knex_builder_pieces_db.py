"""knex raws given to a builder's methods: pieces of its statement, no statements.

Unleash's `environment-store.ts` builds `db('environments').select('*', db.raw('(SELECT
COUNT(*) FROM api_tokens WHERE api_tokens.environment = environments.name) as
api_token_count'))`: knex 3 sends `select *, (SELECT COUNT(*) FROM api_tokens WHERE ...) as
api_token_count from "environments"`, which PostgreSQL prepares; the raw alone is no
statement (42601), and its subquery alone reads a table it does not name (42P01). Such raws
(`select`, `where`, `orderBy`, `update({...})`, ... `_PIECE_METHODS`) were read as
statements sent alone (9 in Unleash's src). They are now no statements, as the body knex's
`.with('name', ...)` takes (`test_js_knex_cte_bodies_db.py`); a `raw` awaited alone still
is. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = """\
CREATE TABLE environments (name text PRIMARY KEY, sort_order int);
CREATE TABLE api_tokens (secret text PRIMARY KEY, environment text);
CREATE TABLE roles (id int PRIMARY KEY, name text);
CREATE TABLE role_user (role_id int, user_id int);
"""

_STORE = """\
export async function getAllWithCounts(db: Knex) {
    return db('environments')
        .select(
            '*',
            db.raw(
                '(SELECT COUNT(*) FROM api_tokens WHERE api_tokens.environment = environments.name) as api_token_count',
            ),
        )
        .orderBy(db.raw('(SELECT COUNT(*) FROM api_tokens t WHERE t.environment = environments.name) DESC'));
}
export async function admins(db: Knex) {
    return db('role_user')
        .where('role_id', '=', db.raw('(SELECT id FROM roles WHERE name = ?)', ['Admin']))
        .update({ role_id: db.raw('(SELECT id FROM roles WHERE name = ?)', ['Editor']) });
}
export async function exists(db: Knex, name: string) {
    const result = await db.raw('SELECT EXISTS (SELECT 1 FROM environment WHERE name = ?) AS present', [name]);
    return result.rows[0].present;
}
"""

# What knex 3 compiles `getAllWithCounts` to (`toSQL().sql`).
_SENT = ('select *, (SELECT COUNT(*) FROM api_tokens WHERE api_tokens.environment = '
         'environments.name) as api_token_count from "environments" order by (SELECT COUNT(*) '
         'FROM api_tokens t WHERE t.environment = environments.name) DESC')


def test_postgresql_prepares_the_chain_not_its_pieces(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute(f"PREPARE whole AS {_SENT}")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("PREPARE piece AS SELECT COUNT(*) FROM api_tokens "
                         "WHERE api_tokens.environment = environments.name")


def test_a_builder_piece_is_no_statement_a_raw_sent_alone_is(database_url: str,
                                                              tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS301", 17)]
    assert report.summary["statements"] == 1
    assert report.skipped == ()

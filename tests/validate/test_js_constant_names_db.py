"""A `const` of names in a template no tag takes: ``db.raw(`SELECT ... FROM ${TABLE}`)``.

JavaScript writes the text of `${TABLE}` into an untagged template, so with `const TABLE =
'users'` knex sends `SELECT ... FROM users`. Unleash's stores write nearly every raw query
so (`const TABLE = 'client_applications'`): 39 of them were DBS304 notes, never checked. A
`const` bound once, in the scope it is read from, to a string of names is now that text,
as an f-string field naming a module constant of names is in Python; a tag's `${...}`
(`sql`...``) is a parameter, never text, and a `let`, a member or a string of a clause
stays a hole. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text)"

_STORE = """\
const TABLE = 'users';
const COLUMNS = 'id, name' as const;
const NAME = 'nmae';
const CLAUSE = 'WHERE id = 1';
let OTHER = 'users';

export class Store {
    async exists(id: number) {
        return this.db.raw(`SELECT EXISTS(SELECT 1 FROM ${TABLE} WHERE id = ?) AS present`, [id]);
    }
    async typo(id: number) {
        return this.db.raw(`SELECT nmae FROM ${TABLE} WHERE id = ?`, [id]);
    }
    async columns() {
        return this.db.raw(`SELECT ${COLUMNS} FROM ${TABLE}`);
    }
    async text() {
        return this.db.raw(`SELECT id FROM users WHERE name = ${NAME}`);
    }
    async parameter() {
        return sql`SELECT id FROM users WHERE name = ${NAME}`;
    }
    async clause() {
        return this.db.raw(`SELECT id FROM ${OTHER} ${CLAUSE}`);
    }
}
"""


def test_postgresql_reads_the_text_javascript_writes(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_SCHEMA)
        conn.execute("PREPARE ok AS SELECT EXISTS(SELECT 1 FROM users WHERE id = $1) AS present")
        conn.execute("PREPARE cols AS SELECT id, name FROM users")
        conn.execute("PREPARE param AS SELECT id FROM users WHERE name = $1")
        for typo in ("SELECT nmae FROM users WHERE id = $1",
                     "SELECT id FROM users WHERE name = nmae"):
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.execute(f"PREPARE typo AS {typo}")


def test_a_constant_of_names_is_its_text(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "store.ts", _STORE)
    found = sorted((f.code, f.location.line) for f in report.findings if f.location)
    # `nmae` read from the column list, and from `NAME` written as text; the tag's
    # `${NAME}` is a parameter; `${OTHER}` (a `let`) and `${CLAUSE}` stay holes.
    assert found == [("DBS302", 12), ("DBS302", 18), ("DBS304", 24)]
    assert report.summary["statements_analysed"] == 5

"""pg-promise's formatting variables in a string its query methods take are holes.

pg-promise formats the query before sending it: `db.oneOrNone('SELECT * FROM users WHERE id =
${id}', {id})` (a plain string: `${id}` is pg-promise's, not JavaScript's), also written
`$(id)`, `$<id>`, `$[id]`, `$/id/`, with a modifier (`${ids:csv}`, `${table:name}`,
`${col~}`, `$1:name`, `$1^`). PostgreSQL's parser rejects every one of them as written, so
each such statement was unparsable and never checked: a misspelt column beside `${id}` went
unreported, though dbsafe reads pg-promise's calls. Each variable is now a hole, read as a
`${...}` of a template is: a value where a value goes (pg-promise sends it as a quoted
literal), else the statement is a DBS304 note (`FROM ${table:name}`). A plain `$1` stays a
parameter, and `$1::name` a cast. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE TABLE users (id int PRIMARY KEY, name text, data jsonb)"

_REPO = """\
export class UsersRepository {
  constructor(private db: any) {}
  find(id: number) {
    return this.db.oneOrNone('SELECT id, nmae FROM users WHERE id = ${id}', {id});
  }
  add(user: { id: number; name: string }) {
    return this.db.one('INSERT INTO users (id, nosuch1) VALUES (${id}, $<name>) RETURNING *', user);
  }
  rename(id: number, name: string) {
    return this.db.none("UPDATE users SET name = $(name) WHERE nosuch2 = $/id/", {id, name});
  }
  some(ids: number[]) {
    return this.db.any('SELECT nosuch3 FROM users WHERE id IN ($1:csv) AND data = $2:json', [ids, {}]);
  }
  same(id: number) {
    return this.db.any('SELECT nosuch4 FROM users WHERE id = $[id] AND name = ${name^}', {id});
  }
  column(col: string) {
    return this.db.any('SELECT ${col:name} FROM users WHERE nosuch5 = 1', {col});
  }
  table(table: string) {
    return this.db.any('SELECT id FROM ${table~}', {table});
  }
  cast(id: number) {
    return this.db.any('SELECT $1::name AS n FROM users WHERE nosuch6 = $2', [id, 1]);
  }
}
"""


def test_postgresql_rejects_the_variables_as_written(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("PREPARE q AS SELECT id FROM users WHERE id = ${id}")
        # what pg-promise sends: the value as a literal
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE q AS SELECT id, nmae FROM users WHERE id = 1")


def test_variables_are_holes(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "users.ts", _REPO)
    found = sorted((f.code, f.location.line, f.subject) for f in report.findings
                   if f.location is not None)
    assert found == [
        ("DBS302", 4, "public.users.nmae"),
        ("DBS302", 7, "public.users.nosuch1"),
        ("DBS302", 10, "public.users.nosuch2"),
        ("DBS302", 13, "public.users.nosuch3"),
        ("DBS302", 16, "public.users.nosuch4"),
        ("DBS302", 25, "public.users.nosuch6"),
        ("DBS304", 19, None),
        ("DBS304", 22, None),
    ]

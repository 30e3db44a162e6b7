"""deno-postgres (`deno.land/x/postgres`), which Supabase's Edge Functions guide uses to reach
the project's database directly: `connection.queryObject\\`SELECT ... ${id}\\`` (each `${...}`
sent as a parameter), `queryArray`, and their call forms with `$1` or `$name` arguments.
Neither was read, so a misspelt column an Edge Function sends this way was never reported.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE member (id int PRIMARY KEY, display_name text)"

_FUNCTION = """\
import * as postgres from 'https://deno.land/x/postgres@v0.17.0/mod.ts';

const pool = new postgres.Pool(Deno.env.get('SUPABASE_DB_URL')!, 3, true);

Deno.serve(async (req) => {
  const connection = await pool.connect();
  const { record } = await req.json();
  await connection.queryObject`SELECT display_name FROM member WHERE id = ${record.id}`;
  await connection.queryObject<{ n: string }>`SELECT displayname AS n FROM member WHERE id = ${1}`;
  await connection.queryArray`UPDATE member SET display_name = ${'x'} WHERE id = ${2}`;
  await connection.queryObject('SELECT id FROM member WHERE display_name = $1', ['a']);
  await connection.queryArray('SELECT nick FROM member WHERE id = $id', { id: 3 });
  connection.release();
  return new Response('ok');
});
"""


@pytest.mark.db
def test_deno_postgres_queries_are_read(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "index.ts", _FUNCTION)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 9, "public.member.displayname"),
        ("DBS302", 12, "public.member.nick"),
    ]
    assert report.summary["statements_analysed"] == 5
    with psycopg.connect(database_url) as conn:
        conn.execute("PREPARE ok AS SELECT display_name FROM member WHERE id = $1")
        for flagged in ("SELECT displayname AS n FROM member WHERE id = $1",
                        "SELECT nick FROM member WHERE id = $1"):
            with pytest.raises(psycopg.errors.UndefinedColumn):  # 42703
                conn.execute(f"PREPARE bad AS {flagged}")
            conn.rollback()

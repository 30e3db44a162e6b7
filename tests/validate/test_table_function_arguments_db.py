"""A value given to a function called as a FROM item, or by its schema-qualified name, is
a value: the statement is checked, not set aside as SQL built at run time.

pgmq's queues are read and written so (`SELECT * FROM pgmq.send('q', ${msg})`, Supabase
Queues; pgflow), and arrays unnested (`FROM unnest(${ids}::int[])`): each was a DBS304
note, and a misspelled column beside it went unreported. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = ("CREATE TABLE users (id int PRIMARY KEY, name text);\n"
           "CREATE FUNCTION stamp(q text, msg jsonb) RETURNS TABLE (msg_id bigint) "
           "LANGUAGE sql AS $$ SELECT 1::bigint $$;\n"
           "CREATE SCHEMA queue;\n"
           "CREATE FUNCTION queue.send(q text, msg jsonb) RETURNS SETOF bigint "
           "LANGUAGE sql AS $$ SELECT 1::bigint $$;\n")

_MODULE = """\
import postgres from 'postgres'
const sql = postgres()

export const send = (msg: object) => sql`SELECT * FROM queue.send('emails', ${msg})`
export const stamped = (msg: object) => sql`SELECT msg_id FROM stamp('emails', ${msg})`
export const byIds = (ids: number[]) => sql`
  SELECT users.nmae FROM unnest(${ids}::int[]) AS u(id) JOIN users ON users.id = u.id`
export const lateral = (rows: object) => sql`
  SELECT r.a, users.id FROM users JOIN LATERAL jsonb_to_recordset(${rows}) AS r(a int) ON true`
export const built = (table: string) => sql`SELECT id FROM ${sql(table)}`
"""


@pytest.mark.db
def test_values_given_to_table_functions_and_qualified_functions_are_checked(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "queue.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.subject) for f in report.findings) == [
        ("DBS302", 7, "public.users.nmae"), ("DBS304", 10, None)]
    assert report.summary["statements_analysed"] == 4

"""A `const` several supabase-js requests read is one finding where it is written.

ANTON.IA's `const LINKEDIN_PROFILE_TABLE_NAME = 'people_search_leads'`, read by four
`.from()` calls, and a `const` of columns two selects send were reported once per request:
identical lines, at the same place. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE events (id int PRIMARY KEY, name text);"

_MODULE = """\
const TABLE = 'evnets'
const COLUMNS = 'id, nmae'

export async function read(supabase, id: number) {
  await supabase.from('events').select(COLUMNS)
  await supabase.from('events').select(COLUMNS).eq('id', id)
  await supabase.from(TABLE).select('id')
  await supabase.from(TABLE).delete().eq('id', id)
  await supabase.from('events').select('nmae')
}
"""


@pytest.mark.db
def test_a_const_several_requests_read_is_one_finding(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "events.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS301", 1, 16, "public.evnets"),
        ("DBS302", 2, 22, "public.events.nmae"),
        ("DBS302", 9, 41, "public.events.nmae"),
    ]

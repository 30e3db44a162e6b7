"""A supabase-js template literal whose every `${...}` reads a `const` string is that string.

Apps build select strings from constants of columns: a driving school's (supabase-rijschool)
`${INSTRUCTOR_SELECT_COLUMNS}, profile:profiles!fk(${PROFILE_SELECT_COLUMNS})` and
classroomio's `lessons:lesson(${LESSON_DEEP_SELECT})` were DBS304 notes, their columns never
checked. A misspelt column is reported where the constant writes it. A hole reading a
`let` assigned only strings is each of them; one reading a `let` assigned anything else, a
parameter or a call stays a note. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = """\
CREATE TABLE profiles (id int PRIMARY KEY, naam text);
CREATE TABLE instructeurs (id int PRIMARY KEY, slug text, profile_id int REFERENCES profiles);
"""

_MODULE = """\
const COLUMNS =
  'id, slgu'
const PROFILE_COLUMNS = 'naam, emial'
const WITH_PROFILE = `${COLUMNS}, profile:profiles(${PROFILE_COLUMNS})`

export async function read(supabase, columns: string) {
  await supabase.from('instructeurs').select(WITH_PROFILE)
  await supabase.from('instructeurs').select(`${WITH_PROFILE}, bio`).eq('id', 1)
  let later = 'id'
  await supabase.from('instructeurs').select(`${later}, nope`)
  await supabase.from('instructeurs').select(`${columns}, nope`)
  await supabase.from('instructeurs').select(`${pick()}, nope`)
  let given = 'id'
  if (columns) given = columns
  await supabase.from('instructeurs').select(`${given}, nope`)
}
"""


@pytest.mark.db
def test_a_template_of_const_strings_is_read_as_their_text(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "profiles.ts", _MODULE)
    assert sorted((f.code, f.location.line, f.location.column, f.subject)
                  for f in report.findings) == [
        ("DBS302", 2, 8, "public.instructeurs.slgu"),
        ("DBS302", 3, 32, "public.profiles.emial"),
        ("DBS302", 8, 64, "public.instructeurs.bio"),
        ("DBS302", 10, 57, "public.instructeurs.nope"),
        ("DBS304", 11, 18, "instructeurs"),
        ("DBS304", 12, 18, "instructeurs"),
        ("DBS304", 15, 18, "instructeurs"),
    ]

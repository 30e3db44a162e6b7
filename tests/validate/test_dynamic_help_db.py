"""The DBS304 note's help, in the terms of the file's own language.

umami builds its queries in TypeScript templates (`select ${column} x ...`): the note's help
told of psycopg.sql and a `# dbsafe:` comment, which TypeScript has neither of, and a `#`
directive would not count there. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_BUILT = """\
import { Pool } from 'pg'

export async function metrics(pool: Pool, column: string) {
  return pool.query(`SELECT ${column} AS x, count(*) FROM website_event GROUP BY 1`)
}
"""


@pytest.mark.db
def test_sql_built_at_run_time_in_typescript_is_told_of_in_its_own_terms(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE website_event (id int)",
                             "metrics.ts", _BUILT)
    (note,) = report.findings
    assert (note.code, note.location.line) == ("DBS304", 4)
    assert note.help is not None
    assert "`// dbsafe: ignore[DBS304]`" in note.help
    assert "psycopg" not in note.help

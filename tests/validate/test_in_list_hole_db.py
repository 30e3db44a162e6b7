"""A hole right after `IN` is the parenthesised list (or subquery) the code builds.

Chainlit's SQLAlchemy data layer builds `thread_ids = "('" + "','".join(ids) + "')"` and
sends `f"... WHERE s."threadId" IN {thread_ids}"`: the statement was a DBS304 note, never
checked. Read as `IN (NULL)`, the rest of it is. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_APP = '''\
def steps(cur, ids):
    thread_ids = "('" + "','".join(ids) + "')"
    cur.execute(f"""SELECT s.id FROM steps s WHERE s."threadId" IN {thread_ids}""")
    cur.execute("SELECT s.name FROM steps s WHERE s.id NOT IN {}".format(thread_ids))
    cur.execute(f"SELECT nope FROM steps WHERE id IN {thread_ids} AND name = 'x'")
'''


@pytest.mark.db
def test_a_hole_after_in_is_a_list_of_values(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path,
                             'CREATE TABLE steps (id text, name text, "threadId" text)',
                             "layer.py", _APP)
    assert [(f.code, f.location.line, f.location.column, f.subject)
            for f in report.findings if f.location] == [
        ("DBS302", 5, 26, "public.steps.nope")]
    # What the hole is read as parses and plans on PostgreSQL.
    with psycopg.connect(database_url) as conn:
        conn.execute('PREPARE p AS SELECT s.id FROM steps s WHERE s."threadId" IN (NULL)')

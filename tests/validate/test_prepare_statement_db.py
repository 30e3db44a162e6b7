"""`PREPARE name [(types)] AS statement`: the statement is checked, and confirmed alone.

Taiga prepares its bulk reorderings by hand (`prepare bulk_update_order as update
projects_userstorystatus set "order" = $1 where projects_userstorystatus.id = $2 ...`, then
`EXECUTE bulk_update_order (%s, %s, %s)` per row): 12 statements whose names went unchecked
("PREPARE statements are not checked"). PostgreSQL's Parse of a PREPARE does not look at
what its statement names either (that waits until the PREPARE runs), so confirmation sends
the statement alone, or it would accept every reference. Its `DEALLOCATE` names nothing to
check: PostgreSQL's parser says it is one, where sqlglot's reading made it unparsable.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_DDL = 'CREATE TABLE projects_status (id int PRIMARY KEY, "order" int, project_id int);\n'

_APP = '''\
def bulk_update_order(cursor, data, project):
    sql = """
    prepare bulk_update_order as update projects_status set "order" = $1
        where projects_status.id = $2 and projects_status.projct_id = $3;
    """
    cursor.execute(sql)
    for id, order in data:
        cursor.execute("EXECUTE bulk_update_order (%s, %s, %s);", (order, id, project))
    cursor.execute("DEALLOCATE bulk_update_order")


def others(cursor):
    cursor.execute("PREPARE counted (int) AS SELECT count(*) FROM projects_status WHERE id = $1")
    cursor.execute("PREPARE gone AS SELECT id FROM projects_statuses")
    cursor.execute("PREPARE nested AS (SELECT ordr FROM projects_status)")
'''


@pytest.mark.db
def test_a_prepared_statement_is_checked_and_confirmed_alone(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "reorder.py", _APP)
    found = sorted((f.code, f.location.line, f.location.column, f.subject,
                    dict(f.context).get("PostgreSQL", "")[:5])
                   for f in report.findings if f.location)
    assert found == [
        ("DBS301", 14, 52, "public.projects_statuses", "42P01"),
        ("DBS302", 4, 59, "public.projects_status.projct_id", "42703"),
        ("DBS302", 15, 47, "public.projects_status.ordr", "42703"),
    ], found
    # `DEALLOCATE bulk_update_order` (which sqlglot reads as a column with an alias) and the
    # EXECUTE are utility statements naming no relation: not checked, and not unparsable.
    assert (report.summary["statements_ignored"], report.summary["statements_unparsed"]) == \
        (2, 0), report.summary
    # What PostgreSQL says when the PREPARE runs.
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.UndefinedColumn):
        conn.execute('PREPARE bulk AS UPDATE projects_status SET "order" = $1 '
                     'WHERE projects_status.id = $2 AND projects_status.projct_id = $3')


_DRIVER_PLACEHOLDERS = '''\
def by_id(cursor, id):
    cursor.execute("PREPARE one AS SELECT id, ordr FROM projects_status WHERE id = %s", (id,))
    cursor.execute("PREPARE two AS SELECT id FROM projects_statuss WHERE id = %(id)s",
                   {"id": id})
    cursor.execute("PREPARE three AS SELECT id, project_id FROM projects_status WHERE id = %s",
                   (id,))
'''


@pytest.mark.db
def test_a_prepared_statement_with_driver_placeholders_is_checked(
        database_url: str, tmp_path: Path) -> None:
    """`PREPARE one AS SELECT ... WHERE id = %s` in a Python string: the `%s` is read as a
    parameter of the prepared statement. It was kept as written, and PostgreSQL's parser
    rejecting it made the statement "unparsable", its misspelt column unreported."""
    report = validate_module(database_url, tmp_path, _DDL, "by_id.py", _DRIVER_PLACEHOLDERS)
    found = sorted((f.code, f.location.line, f.subject, dict(f.context).get("PostgreSQL", "")[:5])
                   for f in report.findings if f.location)
    assert found == [("DBS301", 3, "public.projects_statuss", "42P01"),
                     ("DBS302", 2, "public.projects_status.ordr", "42703")], found
    assert report.summary["statements_unparsed"] == 0, report.summary

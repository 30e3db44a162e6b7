"""What a string method looks for in another string (`q.startswith('INSERT INTO "t"')`) is
compared with the statements sent, never sent itself: Saleor's fixtures pick the captured
queries writing a table by their prefixes. Such a prefix is no statement to validate, and
no DBS304 note when built at run time; a statement also sent stays checked. Real
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

# saleor/tests/fixtures.py: `write_prefixes = (f'INSERT INTO "{table}"', ...)`, then
# `[i for i, sql in enumerate(queries) if sql.startswith(write_prefixes)]`.
_FIXTURES = '''\
def writes(cursor, captured, table):
    prefixes = (f'INSERT INTO "{table}"', f'UPDATE "{table}"', "DELETE FROM audit_log WHERE id = 1")
    picked = [q for q in captured if q.startswith(prefixes)]
    locks = [q for q in captured if q.startswith("SELECT id FROM audit_log FOR UPDATE")]
    rest = [q.removeprefix("UPDATE audit_log SET note = 'x'") for q in captured
            if q.endswith(("WHERE id = 1", "INSERT INTO audit_log (note) VALUES ('x')"))]
    sent = "SELECT note FROM audit_log"
    if any(q.startswith(sent) for q in captured):
        cursor.execute(sent)
    cursor.execute("SELECT id FROM audit_log")
    return picked, locks, rest
'''


@pytest.mark.db
def test_what_a_string_method_looks_for_is_no_statement(database_url: str,
                                                        tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE items (id int)",
                             "fixtures.py", _FIXTURES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 7, "public.audit_log"), ("DBS301", 10, "public.audit_log")]
    # Each prefix, prepared, is refused as the statements sent are: only its use tells them
    # apart.
    with psycopg.connect(database_url) as conn:
        for text in ("DELETE FROM audit_log WHERE id = 1", "SELECT id FROM audit_log FOR UPDATE",
                     "UPDATE audit_log SET note = 'x'",
                     "INSERT INTO audit_log (note) VALUES ('x')"):
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(f"PREPARE p AS {text}")
            conn.rollback()

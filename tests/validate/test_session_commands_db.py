"""A session command built at run time (`SET LOCAL statement_timeout TO {ms}`, SimpleLogin's
`NOTIFY {channel}, '{id}'`) names no table or column: validate has nothing in it to check,
so it is no DBS304 note. A query built the same way still is. Real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

_APP = '''\
def report(cur, ms, role, name, table):
    cur.execute(f"SET LOCAL statement_timeout TO {ms}")
    cur.execute("SET search_path TO " + name)
    cur.execute(f"-- why\\nSET ROLE {role}")
    cur.execute(f"RESET {name}")
    cur.execute(f"SHOW {name}")
    cur.execute(f"SELECT id FROM {table}")
    cur.execute(f"SELECT nope FROM items WHERE id = {ms}")
    cur.execute(f"NOTIFY {name}, '{ms}';")
    cur.execute(f"LISTEN {name}")
    cur.execute(f"UNLISTEN {name}")
'''


@pytest.mark.db
def test_session_commands_built_at_run_time_are_not_noted(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "CREATE TABLE items (id int)",
                             "report.py", _APP)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS304", 7, None), ("DBS302", 8, "public.items.nope")]
    # What each command is, filled in, names nothing PostgreSQL would look up.
    with psycopg.connect(database_url) as conn:
        for command in ("SET LOCAL statement_timeout TO 1000", "SET search_path TO x",
                        "RESET work_mem", "SHOW work_mem", "NOTIFY x, '1'", "LISTEN x",
                        "UNLISTEN x"):
            conn.execute(command)

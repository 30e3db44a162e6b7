"""A relation named by a string the code completes at run time is not the name sent.

pgqueuer's tests (janbjorge/pgqueuer, `test/test_schema_id_widen.py`) reset a serial's
sequence with `f"SELECT setval('{table}_id_seq', {INT4_MAX - 1});"`: the hole inside the
quotes is part of the string, so the statement was read as `setval('_id_seq', NULL)` and
`_id_seq` reported missing, which PostgreSQL "confirmed" (42P01) on that text. The rest of
such a statement is still checked. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE jobs (id serial PRIMARY KEY, name text)"

_MODULE = '''\
def widen(cur, table, schema):
    cur.execute(f"SELECT setval('{table}_id_seq', 1)")
    cur.execute(f"SELECT nextval('{schema}.jobs_id_seq'), nosuch FROM jobs")
    cur.execute("SELECT currval('public.{}_seq')".format(table))
    cur.execute(f"SELECT '{table}_log'::regclass, x.id FROM jobs x WHERE x.name = '{table}'")


def wrong(cur):
    cur.execute("SELECT setval('jobs_seq', 1)")
'''


@pytest.mark.db
def test_a_string_completed_at_run_time_names_no_relation(database_url: str,
                                                          tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _SCHEMA, "widen.py", _MODULE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS302", 3, "public.jobs.nosuch"),
        ("DBS301", 9, "public.jobs_seq"),
    ]
    assert [(s.location.line, s.reason) for s in report.skipped] == [
        (line, "not analysed: names a relation in a string completed at run time")
        for line in (2, 4, 5)]


@pytest.mark.db
def test_a_template_literal_string_completed_at_run_time(database_url: str,
                                                         tmp_path: Path) -> None:
    source = ("export async function reset(client, table) {\n"
              "  await client.query(`SELECT setval('${table}_id_seq', max(id)) FROM jobs`);\n"
              "  await client.query(`SELECT setval('jobs_seq', max(id)) FROM jobs`);\n"
              "}\n")
    report = validate_module(database_url, tmp_path, _SCHEMA, "reset.ts", source)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 3, "public.jobs_seq")]

"""psycopg's `cursor.copy("COPY t (a, b) FROM STDIN")` and psycopg2's `cursor.copy_expert(...)`
name a table and its columns: the COPY is checked as the INSERT naming them (`INSERT INTO t (a,
b) SELECT NULL, NULL`), whose parse analysis PostgreSQL runs when preparing it (a COPY's it does
not), where the calls were not read at all. What psycopg itself gets for each COPY on the same
database is the truth the findings are held to.
Real PostgreSQL.
"""

from __future__ import annotations

import io
from pathlib import Path

import psycopg
import psycopg2
import pytest

from tests.helpers import validate_module

_SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"

# (line in _MODULE, the COPY, what PostgreSQL says running it: None = it runs)
_COPIES = [
    (8, "COPY users (id, nmae) FROM STDIN", "42703"),
    (9, "copy userz from stdin (format binary)", "42P01"),
    (10, 'COPY public."Users" TO STDOUT', "42P01"),
    (11, "COPY users (id, name) FROM STDIN WITH (FORMAT csv)", None),
    (12, "COPY public.users (name) TO STDOUT", None),
    (13, "COPY (SELECT id FROM users) TO STDOUT", None),
]
_EXPERT = [
    (14, "COPY users (titel) FROM STDIN WITH CSV HEADER", "42703"),
    (15, "COPY users TO STDOUT", None),
]

_MODULE = '''\
import pytest

STATEMENT = "COPY users (nmae) FROM STDIN"


def load(cur, f, table):
    # psycopg's copy() from line 8, psycopg2's copy_expert() from line 14
{copies}
{experts}
    cur.copy(f"COPY {{table}} (nmae) FROM STDIN")
    cur.copy("COPY users (nmae) FROM '/tmp/data.csv'")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        cur.copy("COPY users (nmae) FROM STDIN")
    rows = [1, 2].copy()
'''


def _sqlstate(run) -> str | None:
    try:
        run()
    except (psycopg.Error, psycopg2.Error) as exc:
        return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return None


def _psycopg(database_url: str, statement: str) -> str | None:
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        def run() -> None:
            with cur.copy(statement) as copy:
                for _ in copy:  # what a COPY ... TO STDOUT sends, read to its end
                    pass
        return _sqlstate(run)


def _psycopg2(database_url: str, statement: str) -> str | None:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            return _sqlstate(lambda: cur.copy_expert(statement, io.StringIO("")))
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.db
def test_copy_statements_are_checked_as_postgresql_runs_them(
        database_url: str, tmp_path: Path) -> None:
    source = _MODULE.format(
        copies="\n".join(f"    cur.copy({s!r})" for _, s, _ in _COPIES),
        experts="\n".join(f"    cur.copy_expert({s!r}, f)" for _, s, _ in _EXPERT))
    report = validate_module(database_url, tmp_path, _SCHEMA, "load.py", source)
    flagged = {f.location.line: dict(f.context).get("PostgreSQL", "")[:5]
               for f in report.findings}
    # what each COPY gets from PostgreSQL is what the finding on its line says
    assert [_psycopg(database_url, s) for _, s, _ in _COPIES] == [e for _, _, e in _COPIES]
    assert [_psycopg2(database_url, s) for _, s, _ in _EXPERT] == [e for _, _, e in _EXPERT]
    assert flagged == {line: state for line, _, state in _COPIES + _EXPERT if state}

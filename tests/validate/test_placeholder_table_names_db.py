"""A table whose schema or name is a placeholder is not analysed, and says why.

graphile-worker's migrations (graphile/worker, `sql/000002.sql`) write `update
:GRAPHILE_WORKER_SCHEMA.jobs set ...`, a name graphile-worker fills in before sending;
PostgreSQL's parser rejects the statement as written (42601). Such a table in an UPDATE,
INSERT or DELETE, or with its schema a placeholder in FROM (`$1.jobs`, `?.jobs`), made
dbsafe fail on the statement ("internal AttributeError: 'Placeholder' object has no
attribute 'quoted'"), listed as an internal error. It is now not analysed for what it is.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_module

pytestmark = pytest.mark.db

_DDL = "CREATE SCHEMA graphile_worker; CREATE TABLE graphile_worker.jobs (id int, queue text)"

_SCRIPT = """\
update :GRAPHILE_WORKER_SCHEMA.jobs set queue = 'q' where id = 1;
insert into :GRAPHILE_WORKER_SCHEMA.jobs (id) values (1);
select id from $1.jobs;
select nosuch from graphile_worker.jobs;
"""


def test_postgresql_rejects_them_as_written(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_DDL)
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("PREPARE q AS update :GRAPHILE_WORKER_SCHEMA.jobs set queue = 'q'")


def test_placeholder_names_are_not_analysed(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "queries.sql", _SCRIPT)
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS302", 4)]
    reasons = [(s.location.line, s.reason) for s in report.skipped]
    assert reasons == [
        (line, "not analysed: a table named by a placeholder (`:SCHEMA.t`, `$1.t`), "
               "filled in before the statement is sent") for line in (1, 2, 3)]

"""`ANALYSE report.annotations;` (hypothesis/h's report refresh scripts write the British
spelling PostgreSQL also takes) is an ANALYZE, which validate never checks: sqlglot does not
know the word and made each one unparsable, or a lone expression ("not a statement sqlglot
recognises"); PostgreSQL's parser reads both spellings as the same statement. Real
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers import validate_files

_REFRESH = """\
REFRESH MATERIALIZED VIEW CONCURRENTLY report.annotation_counts;
ANALYSE report.annotation_counts;
ANALYSE items;
ANALYSE VERBOSE items;
ANALYSE (VERBOSE, SKIP_LOCKED) items (id);
ANALYZE items;
ANALYSE;
SELECT nope FROM items;
"""


@pytest.mark.db
def test_analyse_is_an_analyze_not_an_unparsable_statement(database_url: str,
                                                           tmp_path: Path) -> None:
    ddl = ("CREATE TABLE items (id int); CREATE SCHEMA report; CREATE MATERIALIZED VIEW "
           "report.annotation_counts AS SELECT 1 AS n; CREATE UNIQUE INDEX ON "
           "report.annotation_counts (n)")
    report = validate_files(database_url, tmp_path, ddl, {"refresh/02_views.sql": _REFRESH})
    assert [(f.code, f.location.line) for f in report.findings if f.location] == [
        ("DBS302", 8)]
    # The REFRESH and the seven ANALYZEs of either spelling are ignored; none is unparsable.
    assert (report.summary["statements_ignored"], report.summary["statements_unparsed"]) == \
        (7, 0), report.summary
    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in _REFRESH.splitlines()[:-1]:
            conn.execute(statement)

"""A statement PostgreSQL's parser rejects is no schema problem, whatever sqlglot reads in it.

sqlglot parses many dialects' syntax: ListenBrainz's Spark jobs (`listenbrainz_spark/`) hold
Spark SQL in plain strings (`LATERAL VIEW explode(ra.artists) AS artist_element`,
`BIGINT(180)`) run on temporary views, and validate reported their views as missing
tables (DBS301) and the exploded alias's fields as DBS302, findings PostgreSQL never
reached ("syntax error at or near LATERAL"). Such a statement is now unparsable, as any
syntax error is; driver placeholders are numbered first (`IN %s` as `IN ($1)`), as they
are sent, so a PostgreSQL statement that uses them keeps its findings. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_APP = '''def spark_jobs(run_query):
    run_query("""
        SELECT l.user_id, artist_element.artist_mbid
          FROM listens_of_year l
          JOIN recording_artist ra ON l.recording_mbid = ra.recording_mbid
        LATERAL VIEW explode(ra.artists) AS artist_element
    """)
    run_query("""
          SELECT user_id, sum(COALESCE(rl.length / 1000, BIGINT(180))) AS value
            FROM listens_of_year l
       LEFT JOIN recording_length rl ON l.recording_mbid = rl.recording_mbid
        GROUP BY user_id
    """)


def postgresql(cur, ids):
    cur.execute("SELECT nosuch1 FROM listen WHERE user_id IN %s", (ids,))
    cur.execute("SELECT nosuch2 FROM listen WHERE user_id = :id OR user_id IN :ids")
    cur.execute("SELECT nosuch3 FROM listen WHERE user_id = ?", (1,))
    cur.execute("SELECT nosuch4 FROM listne")
'''


@pytest.mark.db
def test_statements_postgresql_cannot_parse_have_no_findings(
    database_url: str, tmp_path: Path,
) -> None:
    report = validate_module(database_url, tmp_path,
                             "CREATE TABLE listen (user_id int, recording_mbid uuid)",
                             "app.py", _APP)
    found = [(f.code, f.location.line, f.subject, dict(f.context).get("PostgreSQL"))
             for f in report.findings if f.location]
    assert found == [
        ("DBS302", 17, "public.listen.nosuch1", '42703: column "nosuch1" does not exist'),
        ("DBS302", 18, "public.listen.nosuch2", '42703: column "nosuch2" does not exist'),
        ("DBS302", 19, "public.listen.nosuch3", '42703: column "nosuch3" does not exist'),
        ("DBS301", 20, "public.listne", '42P01: relation "listne" does not exist'),
    ]
    assert report.summary["statements_unparsed"] == 2

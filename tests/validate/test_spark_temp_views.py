"""PySpark's `df.createOrReplaceTempView("name")` makes a view for the module's Spark SQL.

ListenBrainz's Spark jobs register DataFrames as temporary views and query them with
`run_query("SELECT ... FROM model_metadata")`: validate reported each view as a missing
table (DBS301, twelve of them). For the module's statements such a call is DDL,
`CREATE TEMP VIEW name`, with unknown columns; a relation made nowhere is still reported.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_APP = '''import listenbrainz_spark
from listenbrainz_spark.stats import run_query

_CACHE = "Artist_Country_Cache"


def recent_model(df):
    df.createOrReplaceTempView("model_metadata")
    return listenbrainz_spark.session.sql("""
        SELECT model_id FROM model_metadata ORDER BY model_created DESC LIMIT 1
    """)


def countries(df, other):
    df.createOrReplaceTempView(_CACHE)
    other.createOrReplaceGlobalTempView("iso_codes")
    return run_query("""
        SELECT artist_mbid, alpha_3
          FROM artist_country_cache
          JOIN global_temp.iso_codes ON country_code = alpha_2
    """)


def missing():
    return run_query("SELECT user_id FROM listens_of_year")
'''


@pytest.mark.db
def test_a_spark_temp_view_is_made_by_the_module(database_url: str, tmp_path: Path) -> None:
    # (the helpers imported from a package whose name does not say Spark: the statements
    # are read, each temporary view made for them)
    report = validate_module(database_url, tmp_path,
                             "CREATE TABLE listen (user_id int)",
                             "job.py", _APP.replace("listenbrainz_spark", "listenbrainz_jobs"))
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 25, "public.listens_of_year")]


@pytest.mark.db
def test_sql_sent_through_a_package_named_for_spark_is_spark_s(database_url: str,
                                                                tmp_path: Path) -> None:
    # ListenBrainz's `from listenbrainz_spark.stats import run_query`: the package says the
    # engine, so its SQL is Spark's (the tables of its jobs, not PostgreSQL's)
    report = validate_module(database_url, tmp_path, "CREATE TABLE listen (user_id int)",
                             "job.py", _APP)
    assert [f for f in report.findings if f.location] == []

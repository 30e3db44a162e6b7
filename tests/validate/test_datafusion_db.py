"""SQL run by Apache DataFusion, a query engine over files, not by PostgreSQL.

Airflow's common.sql provider (`airflow/providers/common/sql/example_dags/example_analytics.py`
in apache-airflow 3.1.8's tree) hands `AnalyticsOperator(queries=[...])` and what an
`@task.analytics` function returns to DataFusion, over the Parquet and Iceberg files its
datasource configs register as `users_data`: 12 false DBS301 against Airflow's own schema.
DataFusion's own `SessionContext().sql(...)` is the same engine. A task's SQL for a
connection (`SQLExecuteQueryOperator(conn_id=..., sql=...)`) may be the application's own
PostgreSQL and stays checked, and so do another class's `queries=` and a plain `@task`'s
return. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_DAG = '''\
from datafusion import SessionContext
from airflow.providers.common.sql.operators.analytics import AnalyticsOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, task

from reports import Report

with DAG(dag_id="example_analytics") as dag:
    analytics_with_s3 = AnalyticsOperator(
        task_id="analytics_with_s3",
        datasource_configs=[],
        queries=["SELECT * FROM users_data", "SELECT count(*) FROM users_data"],
    )

    @task.analytics(datasource_configs=[])
    def get_user_summary_queries():
        return ["SELECT * FROM users_data LIMIT 10", "SELECT count(*) FROM users_data"]

    @task.analytics(datasource_configs=[])
    def one_query():
        return "SELECT name FROM users_data"

    to_postgres = SQLExecuteQueryOperator(
        task_id="to_postgres", conn_id="postgres_default", sql="SELECT 1 FROM conn_missing")
    report = Report(queries=["SELECT 1 FROM report_missing"])

    @task
    def plain():
        return "SELECT 1 FROM plain_missing"


def summarise(path):
    ctx = SessionContext()
    ctx.register_parquet("events", path)
    return ctx.sql("SELECT count(*) FROM events").collect()
'''


@pytest.mark.db
def test_queries_airflow_runs_on_datafusion_are_not_postgresql(database_url: str,
                                                                tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "example_analytics.py", _DAG)
    assert sorted((f.code, f.location.line, f.subject)
                  for f in report.findings if f.location) == [
        ("DBS301", 24, "public.conn_missing"),
        ("DBS301", 25, "public.report_missing"),
        ("DBS301", 29, "public.plain_missing")]
    skipped = sorted((s.location.line, s.location.column, s.reason) for s in report.skipped)
    assert skipped == [(line, column, "sent to DataFusion, not PostgreSQL") for line, column in (
        (12, 18), (12, 46), (17, 17), (17, 54), (21, 16), (35, 20))]

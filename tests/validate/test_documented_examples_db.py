"""A statement shown as an API's documented example is not sent.

Apache Superset's report schedule schema (`superset/reports/schemas.py`) documents its `sql`
field with marshmallow's `metadata={"description": ..., "example": "SELECT value FROM
time_series_table"}`: two false DBS301 on a table no Superset database has. pydantic's
`Field(examples=[...])`, FastAPI's `Body(example=...)` and `Query(openapi_examples=...)`, and
`json_schema_extra={"example": {...}}` are the same: documentation shown to the API's readers. A string under any other key
is still read. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_MODULE = '''\
from fastapi import Query
from marshmallow import Schema, fields
from pydantic import BaseModel, Field


class ReportSchema(Schema):
    sql = fields.String(
        metadata={
            "description": "A SQL statement that defines whether the alert should get triggered",
            "example": "SELECT value FROM time_series_table",
        }
    )


class QueryBody(BaseModel):
    sql: str = Field(examples=["SELECT id, name FROM example_users WHERE id = 1"])

    model_config = {"json_schema_extra": {"example": {"sql": "SELECT total FROM example_orders"}}}


QUERIES = {"report": "SELECT value FROM missing_reports"}


def run(db, sql: str = Query(openapi_examples={"one": {"value": "SELECT a FROM example_rows"}})):
    return db.execute(QUERIES["report"])
'''


@pytest.mark.db
def test_documented_examples_are_not_statements(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "schemas.py", _MODULE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 21, "public.missing_reports")]

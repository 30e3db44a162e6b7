"""A query's text a trace records is not a statement sent.

Latitude's Python telemetry example (`packages/telemetry/python/examples/
test_manual_instrumentation.py`) records a made-up query on a span,
`span.set_attribute("db.statement", "SELECT * FROM users WHERE id = 123")`, and sends
nothing: a false DBS301 on `users` (its schema has `latitude.users`, which the example never
reads). OpenTelemetry's `db.statement` (`db.query.text` since semantic conventions 1.25)
describes a query to the trace's reader, given after its key to a call or under it in a dict,
the key also as semantic-conventions' constant. A string under any other key, or given to a
sink beside it, is still read. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_MODULE = '''\
from opentelemetry import trace
from opentelemetry.semconv.trace import SpanAttributes

tracer = trace.get_tracer(__name__)


def find(cur, user_id):
    with tracer.start_as_current_span("db.query", attributes={
            "db.system": "postgresql", "db.statement": "SELECT * FROM traced_users"}) as span:
        span.set_attribute("db.statement", "SELECT * FROM traced_users WHERE id = 123")
        span.set_attribute(SpanAttributes.DB_STATEMENT, "SELECT name FROM traced_users")
        span.set_attributes({"db.query.text": "SELECT id FROM traced_users"})
        queries = {"report": "SELECT * FROM missing_users"}
        cur.execute("SELECT * FROM missing_accounts WHERE id = %s", (user_id,))
'''


@pytest.mark.db
def test_recorded_query_texts_are_not_statements(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, "SELECT 1", "traced.py", _MODULE)
    assert [(f.code, f.location.line, f.subject) for f in report.findings if f.location] == [
        ("DBS301", 13, "public.missing_users"), ("DBS301", 14, "public.missing_accounts")]

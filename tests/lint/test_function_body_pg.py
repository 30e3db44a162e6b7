"""A function body's statements, against what PostgreSQL does when the function runs."""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.lint import lint_sql
from dbsafe.lint.rules import non_concurrent_materialized_view_refresh

pytestmark = pytest.mark.db

# Thunderdome's refresh_active_countries(): one view refreshed in three branches.
FUNCTION = """
CREATE FUNCTION refresh_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        REFRESH MATERIALIZED VIEW order_totals;
        RETURN OLD;
    ELSIF TG_OP = 'UPDATE' THEN
        REFRESH MATERIALIZED VIEW order_totals;
        RETURN NEW;
    END IF;
    REFRESH MATERIALIZED VIEW order_totals;
    RETURN NEW;
END $$
"""


def test_a_body_refreshing_one_view_in_three_branches_is_one_finding(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int)")
        conn.execute("CREATE MATERIALIZED VIEW order_totals AS SELECT count(*) FROM orders")
        conn.execute(FUNCTION)
        conn.execute("CREATE TRIGGER orders_totals AFTER INSERT OR UPDATE OR DELETE ON orders "
                     "FOR EACH STATEMENT EXECUTE FUNCTION refresh_totals()")
    with psycopg.connect(conninfo) as session, \
            psycopg.connect(conninfo, autocommit=True) as observer:
        session.execute("INSERT INTO orders VALUES (1)")  # the trigger refreshes the view
        held = observer.execute(
            "SELECT mode FROM pg_locks WHERE pid = %s AND granted AND relation = "
            "'order_totals'::regclass", (session.info.backend_pid,)).fetchall()
        session.rollback()
    assert ("AccessExclusiveLock",) in held
    findings = lint_sql(FUNCTION + ";", rules=[non_concurrent_materialized_view_refresh.RULE])
    assert [f.code for f in findings] == ["DBS116"]

"""A CTE body a function lists with its name and writes into its own `WITH` is no statement.

Software Heritage's scheduler (SoftwareHeritage/swh-scheduler a1b97f0,
`swh/scheduler/backend.py`, `grab_next_visits`) lists its CTEs as (name, body) pairs,
`common_table_expressions.append(("deduplicated_selected_origins", "SELECT ... FROM
selected_origins"))` (or `.insert(0, (...))`), then writes them as
`",\\n".join(f"{name} AS (\\n{cte}\\n)" for name, cte in common_table_expressions)` into
the `WITH` it sends: each body reading a CTE listed before it was a false DBS301 (alone,
PostgreSQL's 42P01; the whole `WITH` PREPAREs). A pair list the function joins otherwise,
or a statement it sends itself, stays checked. So are the lines of a statement a function
lists and joins with white space (Datasette's `datasette/utils/actions_sql.py`:
`query_parts.extend(["restriction_list AS (", ..., "  SELECT ... FROM restriction_list
..."])`, then `"\\n".join(query_parts)`: four false DBS301); a list joined with `";"`
holds whole statements, read each. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import validate_module

_DDL = "CREATE TABLE listed_origins (url text, visit_type text, last_update timestamptz)"

_BACKEND = '''\
def grab_next_visits(db, cur, count, dry_run):
    ctes = []
    ctes.insert(0, ("selected_origins", f"""
        SELECT url, visit_type FROM listed_origins
        WHERE last_update IS NOT NULL LIMIT %s
    """))
    ctes.append(("deduplicated_selected_origins", """
        SELECT DISTINCT url, visit_type FROM selected_origins
    """))
    if not dry_run:
        ctes.append(("update_stats", """
            UPDATE listed_origins SET last_update = now()
            FROM deduplicated_selected_origins d WHERE listed_origins.url = d.url
        """))
    formatted = ",\\n".join(f"{name} AS (\\n{cte}\\n)" for name, cte in ctes)
    cur.execute(f"WITH {formatted} SELECT * FROM deduplicated_selected_origins", (count,))


def report(cur):
    checks = []
    checks.append(("stale", "SELECT url FROM listed_origin WHERE last_update IS NULL"))
    for label, query in checks:
        cur.execute(query)
    cur.execute("SELECT urls FROM listed_origins")


def allowed(cur, restrictions):
    parts = ["WITH"]
    if restrictions:
        parts.extend([
            "restriction_list AS (SELECT url FROM listed_origins),",
            "restriction_urls AS (",
            "  SELECT url FROM restriction_list WHERE url IS NOT NULL",
            ")",
        ])
    parts.append("SELECT url FROM restriction_urls")
    cur.execute("\\n".join(parts))
    script = ["SELECT url FROM restriction_list"]
    cur.execute(";".join(script))
'''


@pytest.mark.db
def test_cte_bodies_a_function_writes_into_its_with_are_not_statements(
        database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "backend.py", _BACKEND)
    assert sorted((f.code, f.location.line, f.subject, dict(f.context)["PostgreSQL"][:5])
                  for f in report.findings if f.code != "DBS304") == [
        ("DBS301", 21, "public.listed_origin", "42P01"),
        ("DBS301", 38, "public.restriction_list", "42P01"),
        ("DBS302", 24, "public.listed_origins.urls", "42703")]

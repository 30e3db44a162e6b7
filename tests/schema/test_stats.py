"""Table sizes for lint and plan, read from a live database."""

from __future__ import annotations

import psycopg

from dbsafe.schema.stats import table_stats


def test_table_stats_accepts_sqlalchemy_style_urls(postgresql: psycopg.Connection,
                                                  database_url: str) -> None:
    # alembic users pass the URL from alembic.ini, driver suffix and all.
    postgresql.execute("CREATE TABLE patients (id int); INSERT INTO patients VALUES (1), (2)")
    postgresql.execute("ANALYZE patients")
    postgresql.commit()

    stats = table_stats(database_url.replace("postgresql://", "postgresql+psycopg://", 1))

    assert stats["public.patients"].total_bytes > 0
    assert stats["public.patients"].rows == 2

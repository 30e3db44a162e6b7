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


def test_a_partitioned_table_weighs_what_its_partitions_hold(postgresql: psycopg.Connection,
                                                             database_url: str) -> None:
    # It has no storage of its own: counted at 0 B, every finding on it was lowered.
    postgresql.execute(
        "CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);"
        "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') "
        "TO ('2026-01-01') PARTITION BY RANGE (id);"
        "CREATE TABLE events_2025_a PARTITION OF events_2025 FOR VALUES FROM (0) TO (500);"
        "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') "
        "TO ('2027-01-01');"
        "INSERT INTO events SELECT g, '2025-06-01' FROM generate_series(1, 400) g;"
        "INSERT INTO events SELECT g, '2026-06-01' FROM generate_series(1, 300) g;"
        "ANALYZE events")
    postgresql.commit()

    stats = table_stats(database_url)

    leaves = stats["public.events_2025_a"].total_bytes + stats["public.events_2026"].total_bytes
    assert leaves > 0 and stats["public.events"].total_bytes == leaves
    assert stats["public.events"].rows == 700
    assert stats["public.events_2025"].rows == 400


def test_a_table_another_session_holds_access_exclusive_on_is_left_out_not_waited_for(
        postgresql: psycopg.Connection, database_url: str) -> None:
    """pg_total_relation_size takes ACCESS SHARE: behind `LOCK TABLE` left open (on a table,
    an index, a partition) the sizes waited as long as the holder stayed, and `dbsafe lint
    --database-url` and `dbsafe upgrade`'s preflight with them."""
    from tests.guard.test_backup_lock_wait import _unblocked_if_unbounded

    postgresql.execute(
        "CREATE TABLE free (id int); CREATE TABLE held (id int PRIMARY KEY);"
        "CREATE TABLE indexed (id int); CREATE INDEX indexed_id ON indexed (id);"
        "CREATE TABLE events (id int) PARTITION BY RANGE (id);"
        "CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (10);"
        "INSERT INTO free VALUES (1)")
    postgresql.commit()
    holder = psycopg.connect(database_url, application_name="nightly-report")
    holder.execute("LOCK TABLE held")
    holder.execute("LOCK TABLE events_a")
    # REINDEX INDEX holds ACCESS EXCLUSIVE on the index only (SHARE on its table).
    holder.execute("REINDEX INDEX indexed_id")
    try:
        with _unblocked_if_unbounded(database_url, holder) as ended:
            stats = table_stats(database_url)
    finally:
        holder.close()

    assert not ended, "the sizes waited for the lock unbounded"
    assert stats["public.free"].total_bytes > 0
    assert {"public.held", "public.indexed", "public.events_a", "public.events"}.isdisjoint(
        stats), sorted(stats)

"""Table sizes and row estimates from a live database (`pg_class`), for weighing findings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableStats:
    relation: str  # "schema.name"
    total_bytes: int  # pg_total_relation_size: heap + indexes + toast (of every partition)
    rows: float  # reltuples estimate (summed over partitions); -1 when never analysed

    def describe(self) -> str:
        rows = "unknown rows" if self.rows < 0 else f"~{_count(self.rows)} rows"
        return f"{_bytes(self.total_bytes)}, {rows}"


# A partitioned table has no storage of its own: its size and rows are its partitions'
# (a lock on it waits for, and a scan of it reads, every one of them).
_QUERY = """
SELECT n.nspname, c.relname,
       CASE WHEN c.relkind = 'p' THEN (
           SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)
           FROM pg_partition_tree(c.oid) AS t WHERE t.isleaf)
       ELSE pg_total_relation_size(c.oid) END,
       CASE WHEN c.relkind = 'p' THEN (
           SELECT CASE WHEN bool_and(l.reltuples >= 0) THEN sum(l.reltuples) ELSE -1 END
           FROM pg_partition_tree(c.oid) AS t JOIN pg_class AS l ON l.oid = t.relid
           WHERE t.isleaf)
       ELSE c.reltuples END
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
"""


def table_stats(url: str) -> dict[str, TableStats]:
    """Sizes of every user table and materialized view, keyed by `schema.name`."""
    import psycopg

    from dbsafe.core import DatabaseError, first_line
    from dbsafe.pg.urls import redact_text, redact_url, to_libpq_url

    url = to_libpq_url(url)  # `postgresql+psycopg://` from alembic.ini works too
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10,
                             application_name="dbsafe lint") as conn:
            rows = conn.execute(_QUERY).fetchall()
    except psycopg.Error as exc:
        message = redact_text(first_line(exc), url)
        raise DatabaseError(f"cannot read table sizes from {redact_url(url)}: {message}") from None
    return {f"{schema}.{name}": TableStats(f"{schema}.{name}", int(size), float(rows))
            for schema, name, size, rows in rows}


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError


def _count(value: float) -> str:
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= threshold:
            return f"{value / threshold:.1f}{suffix}"
    return f"{value:.0f}"

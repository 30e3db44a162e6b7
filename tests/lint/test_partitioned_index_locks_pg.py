"""CREATE INDEX (not CONCURRENTLY) on a partitioned table builds the index on each of its
partitions, at any depth, each locked SHARE with the table until the transaction ends
(task 465, pg_locks on PostgreSQL 18); `ON ONLY` locks the table alone and builds nothing.
DBS101 named only the table, and `lint --locks` gave the table a row saying the build scans
it (it has no rows) and none to the partitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.lint import lint_sql
from dbsafe.lint.rules import non_concurrent_index_creation
from dbsafe.schema.introspect import introspect

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE m (id int, k int) PARTITION BY RANGE (id);
CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (100);
CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (100) TO (200) PARTITION BY RANGE (id);
CREATE TABLE m2a PARTITION OF m2 FOR VALUES FROM (100) TO (200);
INSERT INTO m SELECT i, i FROM generate_series(0, 199) AS i;
"""


def _held(connection: psycopg.Connection[Any]) -> dict[str, str]:
    return dict(connection.execute(
        "SELECT c.relnamespace::regnamespace || '.' || c.relname, l.mode FROM pg_locks l "
        "JOIN pg_class c ON c.oid = l.relation WHERE l.pid = pg_backend_pid() "
        "AND c.relname IN ('m', 'm1', 'm2', 'm2a')").fetchall())


@pytest.mark.parametrize("sql", ["CREATE INDEX ix_k ON m (k)", "CREATE INDEX ix_k ON ONLY m (k)"],
                         ids=["recursing", "only"])
def test_an_index_on_a_partitioned_table_is_built_on_each_partition(
        postgresql: psycopg.Connection[Any], database_url: str, tmp_path: Path,
        sql: str) -> None:
    postgresql.execute(SCHEMA)
    postgresql.commit()
    before = introspect(postgresql)
    (tmp_path / "1_index.sql").write_text(sql + ";\n")

    findings = lint_sql(sql + ";", rules=[non_concurrent_index_creation.RULE], before=before)
    rows = commands.lock_report(Settings(project_root=tmp_path, database_url=database_url),
                                [tmp_path / "1_index.sql"])
    postgresql.execute(sql)
    held = _held(postgresql)
    postgresql.rollback()

    predicted = {row.relation if "." in row.relation else f"public.{row.relation}":
                 (row.mode, row.rewrites) for row in rows if row.relation}
    assert {name: mode for name, (mode, _) in predicted.items()} == \
        {name: mode.removesuffix("Lock").upper() for name, mode in held.items()}
    if "ONLY" in sql:
        assert held == {"public.m": "ShareLock"}
        assert predicted == {"public.m": ("SHARE", False)}  # (nothing is built)
        assert findings == ()
        return
    assert held == dict.fromkeys(("public.m", "public.m1", "public.m2", "public.m2a"),
                                 "ShareLock")
    assert predicted["public.m"] == ("SHARE", False)  # (no rows: its partitions are built)
    assert predicted["public.m1"] == predicted["public.m2a"] == ("SHARE", True)
    assert predicted["public.m2"] == ("SHARE", False)  # (partitioned too: no rows)
    [finding] = findings
    assert finding.message == (
        "Index on `m` is built without CONCURRENTLY on each partition of `m` (`public.m1`, "
        "`public.m2`, `public.m2a`; a partitioned table has no rows of its own), each locked "
        "SHARE until the transaction ends; writes to `m` wait until it finishes.")


MAINTENANCE = {
    "VACUUM FULL m": "DBS112",
    "CLUSTER m USING mk": "DBS112",
    "REINDEX TABLE m": "DBS104",
}


@pytest.mark.parametrize("sql", list(MAINTENANCE))
def test_vacuum_full_cluster_and_reindex_of_a_partitioned_table_do_one_partition_at_a_time(
        postgresql: psycopg.Connection[Any], conninfo: str, database_url: str,
        tmp_path: Path, sql: str) -> None:
    """PostgreSQL refuses each inside a transaction block; outside, it works on one
    partition at a time, each in a transaction of its own: held up at `m2a` (another
    session holds it), it has already committed `m1`'s new files, and the table itself has
    none (relfilenode 0)."""
    from dbsafe.lint.rules import non_concurrent_reindex, table_rewrite_maintenance

    postgresql.execute(SCHEMA + "CREATE INDEX mk ON m (k);")
    postgresql.commit()
    before = introspect(postgresql)
    rules = [table_rewrite_maintenance.RULE, non_concurrent_reindex.RULE]
    [finding] = lint_sql(sql + ";", rules=rules, before=before)
    assert finding.code == MAINTENANCE[sql]
    assert "one at a time, each in a transaction of its own" in finding.message
    (tmp_path / "1_maintain.sql").write_text(sql + ";\n")
    [row] = commands.lock_report(Settings(project_root=tmp_path, database_url=database_url),
                                 [tmp_path / "1_maintain.sql"])
    assert (row.relation, row.rewrites) == ("m", False)  # (its partitions are, in turn)
    assert "each in a transaction of its own" in row.note

    query = ("SELECT c.relname, c.relfilenode FROM pg_class c JOIN pg_class t "
             "ON t.oid = coalesce((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.oid), "
             "c.oid) WHERE t.relname IN ('m', 'm1', 'm2a')")
    with psycopg.connect(conninfo, autocommit=True) as holder, \
            psycopg.connect(conninfo, autocommit=True) as runner:
        with pytest.raises(psycopg.errors.ActiveSqlTransaction), runner.transaction():
            runner.execute(sql)
        files = dict(runner.execute(query).fetchall())
        with holder.transaction():
            holder.execute("SELECT * FROM m2a LIMIT 0")  # (ACCESS SHARE on it, its index)
            runner.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                runner.execute(sql)
        after = dict(runner.execute(query).fetchall())
    changed = {name for name in files if files[name] != after[name]}
    assert files["m"] == 0
    # m1's files (its indexes' for REINDEX) were rewritten and committed before m2a was reached
    assert changed & {"m1", "m1_k_idx"} and not changed & {"m", "m2a", "m2a_k_idx"}

"""The lock table: statement -> lock mode and relation, as checked against pg_locks on
PostgreSQL 18, and the `--locks` report built from it."""

from __future__ import annotations

import pytest

from dbsafe.core import Location
from dbsafe.extract.migration import Migration, MigrationStatement
from dbsafe.lint.locks import (
    BLOCKS,
    CONFLICTS,
    MODES,
    lock_for,
    lock_report,
    locks_for,
    render_locks_text,
)
from dbsafe.lint.statement import Statement, parse_statement


def statement(sql: str) -> Statement:
    return parse_statement(sql, Location("m.sql", 1))


AE, EX, SRE, SH, SUE, RE, RS, AS = MODES[::-1]

# (statement, mode, relation, rewrites) — modes as pg_locks showed them on PostgreSQL 18.
CASES = [
    ("CREATE INDEX ix ON orders (customer_id)", SH, "orders", True),
    ("CREATE UNIQUE INDEX CONCURRENTLY ix ON public.orders (ref)", SUE, "public.orders", True),
    ("DROP INDEX ix_orders", AE, "ix_orders", False),
    ("DROP INDEX CONCURRENTLY ix_orders", SUE, "ix_orders", False),
    ("ALTER TABLE orders ADD COLUMN note text", AE, "orders", False),
    ("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id)", SRE,
     "orders", True),
    ("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) "
     "NOT VALID", SRE, "orders", False),
    ("ALTER TABLE orders ADD COLUMN c int REFERENCES customers (id)", AE, "orders", False),
    ("ALTER TABLE orders VALIDATE CONSTRAINT fk", SUE, "orders", True),
    ("ALTER TABLE orders ADD CONSTRAINT ck CHECK (total > 0)", AE, "orders", True),
    ("ALTER TABLE orders ADD CONSTRAINT ck CHECK (total > 0) NOT VALID", AE, "orders", False),
    ("ALTER TABLE orders ADD CONSTRAINT u UNIQUE (ref)", AE, "orders", True),
    ("ALTER TABLE orders ADD CONSTRAINT u UNIQUE USING INDEX ix", AE, "orders", False),
    ("ALTER TABLE orders ALTER COLUMN total SET STATISTICS 500", SUE, "orders", False),
    ("ALTER TABLE orders ALTER COLUMN total SET (n_distinct = 10)", SUE, "orders", False),
    ("ALTER TABLE orders ALTER COLUMN ref TYPE text", AE, "orders", True),
    ("ALTER TABLE orders ALTER COLUMN ref SET NOT NULL", AE, "orders", True),
    ("ALTER TABLE orders ALTER COLUMN ref SET DEFAULT 'x'", AE, "orders", False),
    ("ALTER TABLE orders SET (fillfactor = 70)", SUE, "orders", False),
    ("ALTER TABLE orders SET TABLESPACE fast", AE, "orders", True),
    ("ALTER TABLE orders ENABLE TRIGGER tr", SRE, "orders", False),
    ("ALTER TABLE orders DISABLE TRIGGER ALL", SRE, "orders", False),
    ("ALTER TABLE orders CLUSTER ON ix", SUE, "orders", False),
    ("ALTER TABLE orders RENAME COLUMN a TO b", AE, "orders", False),
    # a constraint's, trigger's, policy's or rule's rename takes its table (they predicted
    # nothing: conbench's `ALTER TABLE machine RENAME CONSTRAINT machine_pkey TO ...`)
    ("ALTER TABLE orders RENAME CONSTRAINT orders_pkey TO orders_pk", AE, "orders", False),
    ("ALTER TRIGGER tr ON orders RENAME TO tr2", AE, "orders", False),
    ("ALTER POLICY p ON orders RENAME TO p2", AE, "orders", False),
    ("ALTER RULE r ON orders RENAME TO r2", AE, "orders", False),
    ("ALTER TABLE orders ALTER COLUMN total SET STATISTICS 1, ADD COLUMN x int", AE, "orders",
     False),
    # the strongest lock is the one on the partition being attached
    ("ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM (1) TO (2)", AE,
     "events_2024", True),
    ("ALTER TABLE events DETACH PARTITION events_2023", AE, "events", False),
    ("ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY", SUE, "events", False),
    ("ALTER INDEX ix RENAME TO iy", SUE, "ix", False),
    ("CREATE TRIGGER tr BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f()", SRE,
     "orders", False),
    ("DROP TRIGGER tr ON orders", AE, "orders", False),
    ("CREATE POLICY p ON orders USING (true)", AE, "orders", False),
    ("CREATE TABLE lines (id int, order_id int REFERENCES orders (id))", SRE, "orders", False),
    ("DROP TABLE orders", AE, "orders", False),
    ("TRUNCATE orders", AE, "orders", False),
    ("VACUUM orders", SUE, "orders", False),
    ("VACUUM FULL orders", AE, "orders", True),
    ("VACUUM (FULL, ANALYZE) public.orders", AE, "public.orders", True),
    ("VACUUM (FULL false) orders", SUE, "orders", False),
    ("VACUUM FULL", AE, None, True),
    ("ANALYZE orders", SUE, "orders", False),
    ("CLUSTER orders USING ix", AE, "orders", True),
    ("REINDEX TABLE orders", SH, "orders", True),
    ("REINDEX INDEX ix", AE, "ix", True),
    ("REINDEX TABLE CONCURRENTLY orders", SUE, "orders", True),
    ("REINDEX DATABASE shop", SH, None, True),
    ("REFRESH MATERIALIZED VIEW totals", AE, "totals", True),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY totals", EX, "totals", True),
    ("REFRESH MATERIALIZED VIEW totals WITH NO DATA", AE, "totals", False),
    ("ALTER TYPE mood ADD VALUE 'x'", EX, "mood", False),
    ("LOCK TABLE orders IN SHARE MODE", SH, "orders", False),
    ("LOCK orders", AE, "orders", False),
    ("LOCK TABLE ONLY orders IN ROW EXCLUSIVE MODE NOWAIT", RE, "orders", False),
    ("INSERT INTO orders (id) VALUES (1)", RE, "orders", False),
    ("UPDATE orders SET total = 0", RE, "orders", False),
    ("DELETE FROM public.orders WHERE id = 1", RE, "public.orders", False),
    ("SELECT * FROM orders", AS, "orders", False),
    ("SELECT * FROM orders FOR UPDATE", RS, "orders", False),
    ("COMMENT ON TABLE orders IS 'x'", SUE, "orders", False),
    ("COMMENT ON COLUMN orders.total IS 'x'", SUE, "orders", False),
]


@pytest.mark.parametrize(("sql", "mode", "relation", "rewrites"), CASES,
                         ids=[c[0][:60] for c in CASES])
def test_lock_for(sql: str, mode: str, relation: str | None, rewrites: bool) -> None:
    lock = lock_for(statement(sql))
    assert lock is not None
    assert (lock.mode, lock.relation, lock.rewrites) == (mode, relation, rewrites)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE audit (id int)", "CREATE VIEW v AS SELECT 1", "SET lock_timeout = '5s'",
    "SELECT set_config('lock_timeout', '5s', false)", "BEGIN", "COMMIT",
    "GRANT SELECT ON orders TO app",
])
def test_statements_that_lock_no_existing_table(sql: str) -> None:
    assert lock_for(statement(sql)) is None


def test_foreign_key_locks_the_referenced_table_too() -> None:
    sql = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id)"
    assert [(lock.mode, lock.relation) for lock in locks_for(statement(sql))] == [
        (SRE, "orders"), (SRE, "customers")]


def test_attach_partition_locks_the_partition_access_exclusive() -> None:
    sql = "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM (1) TO (2)"
    assert [(lock.mode, lock.relation) for lock in locks_for(statement(sql))] == [
        (SUE, "events"), (AE, "events_2024")]


def test_enum_lock_blocks_no_table_access() -> None:
    lock = lock_for(statement("ALTER TYPE mood ADD VALUE 'x'"))
    assert lock.target == "type" and lock.blocks == (False, False, False)


def test_conflict_matrix_is_symmetric() -> None:
    for a in MODES:
        for b in MODES:
            assert (b in CONFLICTS[a]) == (a in CONFLICTS[b]), (a, b)


def test_blocks_table() -> None:
    assert {mode for mode in MODES if BLOCKS[mode][0]} == {AE}
    assert {mode for mode in MODES if BLOCKS[mode][1]} == {SH, SRE, EX, AE}
    assert {mode for mode in MODES if BLOCKS[mode][2]} == {SUE, SH, SRE, EX, AE}


def test_lock_report_and_its_text_rendering() -> None:
    sqls = ["CREATE TABLE audit (id int)", "CREATE INDEX audit_id ON audit (id)",
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id)",
            "VACUUM FULL"]
    migration = Migration("m.sql", tuple(
        MigrationStatement(sql, Location("m.sql", i + 1)) for i, sql in enumerate(sqls)))
    assert render_locks_text(lock_report([migration])) == """\
location  statement                                                     lock                 relation     reads    writes   ddl      rewrite  source
--------  ------------------------------------------------------------  -------------------  -----------  -------  -------  -------  -------  ---------
m.sql:2   CREATE INDEX audit_id ON audit (id)                           SHARE                audit (new)  -        blocked  blocked  yes      predicted
m.sql:3   ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERE…  SHARE ROW EXCLUSIVE  orders       -        blocked  blocked  yes      predicted
m.sql:3   ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERE…  SHARE ROW EXCLUSIVE  customers    -        blocked  blocked  -        predicted
m.sql:4   VACUUM FULL                                                   ACCESS EXCLUSIVE     (all)        blocked  blocked  blocked  yes      predicted
"""

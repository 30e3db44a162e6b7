"""The differ on PostgreSQL 15, the oldest server the issue promises (the suite runs on 18).

A throwaway PostgreSQL 15 cluster from the system's server binaries (`pg15_server` in
conftest.py; skipped, saying why, where they are not installed). Kept to a handful of
tests: the same schema reads the same on 15 as on 18, pairs round-trip on 15, and a
dump restored by 15's own pg_dump/pg_restore shows no difference.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from dbsafe.schema.ddl import plan
from dbsafe.schema.diff import diff
from dbsafe.schema.introspect import introspect_url
from dbsafe.schema.model import Column, ColumnDetails, SchemaSnapshot, replace
from tests.helpers import PG15_BIN
from tests.schema.test_introspect import check_definitions
from tests.schema.test_roundtrip import PAIRS, _apply, _build, _Built, _round_trip

# One PostgreSQL 15 cluster per worker: its tests share a worker (`--dist loadgroup`).
pytestmark = [pytest.mark.db, pytest.mark.xdist_group("pg15")]

SHOP = Path(__file__).parent / "fixtures" / "shop.sql"
# Pairs whose catalog facts moved between 15 and 18 (partition and NOT NULL bookkeeping,
# deparsed function and view text, grants, aggregates written from pg_aggregate), or that use
# the most object kinds, or whose script reads a sequence's counter (serial to identity).
PAIRS_ON_15 = ("partitioning", "functions_triggers", "security_comments", "generated_columns",
               "types_sequences_schemas", "views", "aggregates", "range_types", "casts",
               "partition_fk_copies", "serial_counters_carried")
# ... and backward too, where what the plan writes depends on the server: a foreign key of a
# partitioned table, which 15 cannot add NOT VALID; a cast whose function's name (`json`)
# 15 prints bare and later grammars (pglast's) read as a keyword.
BACKWARD_ON_15 = ("partition_fk_copies", "casts")


@pytest.fixture(scope="module")
def _built_on_15(pg15_server: str) -> Iterator[_Built]:
    with _Built.on(pg15_server) as built:
        yield built


@pytest.fixture
def built_on_15(_built_on_15: _Built) -> Iterator[_Built]:
    """What the round trips built on 15 (test_roundtrip.py's `_Built`, of this server)."""
    yield _built_on_15
    _built_on_15.end_test()


@pytest.fixture
def new_18_database(new_database: Callable[[], str],
                    server_version: int) -> Callable[[], str]:
    """`new_database`, of the suite's server where it is 16 or later (18 by default); where
    DBSAFE_TEST_DATABASE_URL names an older one there is nothing newer to compare with."""
    if server_version < 160000:
        pytest.skip(f"the suite's server is PostgreSQL {server_version // 10000} "
                    "(DBSAFE_TEST_DATABASE_URL): nothing newer to compare 15 with")
    return new_database


def test_a_schema_reads_the_same_on_15_as_on_18_but_for_deparsed_text(
        new_pg15_database: Callable[[], str], new_18_database: Callable[[], str]) -> None:
    on_15 = _build(new_pg15_database(), SHOP.read_text(encoding="utf-8"))
    on_18 = _build(new_18_database(), SHOP.read_text(encoding="utf-8"))
    assert on_15.server_version is not None and on_15.server_version // 10000 == 15
    assert on_18.server_version is not None and on_18.server_version // 10000 >= 16
    # Only what the server versions themselves change: the extension's bundled version.
    # The views' text differs too (16 stopped qualifying the columns of a single-table
    # view's FROM item), but not what it means.
    assert {(c.kind, c.subject, c.attribute) for c in diff(on_15, on_18)} == {
        ("extension", "postgres_fdw", "version"),
    }
    assert _view_texts(on_15)["shop.active_customers"] \
        != _view_texts(on_18)["shop.active_customers"]


def _view_texts(snapshot: SchemaSnapshot) -> dict[str, str]:
    return {f"{r.schema}.{r.name}": r.definition or "" for r in snapshot.relations
            if r.kind in ("view", "materialized_view")}


# Views of every shape pg_get_viewdef prints: up to 15 every column qualified, from 16 a
# level's only relation's columns bare; references to an outer level keep their qualifier
# on both (v_sub, v_lateral).
VIEWS = """
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email varchar(200),
  kind varchar(20) DEFAULT 'retail', tags text[] DEFAULT '{}', meta jsonb DEFAULT '{}',
  score numeric(10,2) DEFAULT 0 CHECK (score >= 0));
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers,
  amount numeric(12,2) NOT NULL, status text NOT NULL DEFAULT 'new',
  placed date DEFAULT CURRENT_DATE, note text);
CREATE VIEW v_single AS SELECT id, name, email FROM customers WHERE kind = 'retail';
CREATE VIEW v_alias AS SELECT c.id, c.name FROM customers c WHERE c.score > 5
  WITH CASCADED CHECK OPTION;
CREATE VIEW v_case AS SELECT id, CASE WHEN amount > 100 THEN 'big' ELSE 'small' END AS size,
  id::text || ' - ' || status AS label, 'it''s' AS q, status IS DISTINCT FROM note AS changed,
  amount::int AS whole, coalesce(note, 'none') AS note FROM orders;
CREATE VIEW v_window AS SELECT id, row_number() OVER (PARTITION BY customer_id
  ORDER BY placed DESC) AS rn, sum(amount) OVER w AS running FROM orders
  WINDOW w AS (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
CREATE VIEW v_sub AS SELECT c.id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id)
  AS n FROM customers c WHERE EXISTS (SELECT 1 FROM orders o2 WHERE o2.customer_id = c.id)
  AND c.id IN (SELECT customer_id FROM orders);
CREATE VIEW v_order AS SELECT id, name FROM customers ORDER BY name DESC NULLS LAST
  LIMIT 10 OFFSET 5;
CREATE VIEW v_cte AS WITH big AS (SELECT * FROM orders WHERE amount > 100),
  agg AS MATERIALIZED (SELECT customer_id, sum(amount) AS s FROM big GROUP BY 1)
  SELECT customer_id, s FROM agg;
CREATE VIEW v_json AS SELECT id, tags[1] AS first_tag, 'x' = ANY (tags) AS has_x,
  ARRAY[1, 2] AS a, meta -> 'a' AS a_json, meta ->> 'b' AS b, meta @> '{"k": 1}' AS has_k
  FROM customers;
CREATE VIEW v_agg AS SELECT customer_id, string_agg(status, ',' ORDER BY id) AS sts,
  count(*) FILTER (WHERE amount > 5) AS big FROM orders GROUP BY GROUPING SETS
  ((customer_id), ());
CREATE VIEW v_lateral AS SELECT c.id, x.amount FROM customers c, LATERAL (SELECT amount
  FROM orders o WHERE o.customer_id = c.id ORDER BY amount DESC LIMIT 1) x;
CREATE VIEW v_from AS SELECT x.n FROM (SELECT id + 1 AS n FROM orders) x WHERE x.n > 2;
CREATE VIEW v_function AS SELECT g.i FROM generate_series(1, 10) g(i);
CREATE VIEW v_values AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(n, l);
CREATE VIEW v_sample AS SELECT id FROM orders TABLESAMPLE BERNOULLI (10) REPEATABLE (1);
CREATE MATERIALIZED VIEW mv AS SELECT customer_id, sum(amount) AS total FROM orders
  GROUP BY customer_id;
"""


def test_views_printed_by_15_and_by_18_are_the_same_definitions(
        new_pg15_database: Callable[[], str], new_18_database: Callable[[], str]) -> None:
    on_15, on_18 = _build(new_pg15_database(), VIEWS), _build(new_18_database(), VIEWS)
    texts_15, texts_18 = _view_texts(on_15), _view_texts(on_18)
    assert texts_15.keys() == texts_18.keys() and len(texts_15) == 15
    assert [name for name in texts_15 if texts_15[name] == texts_18[name]] == ["public.v_lateral"]
    assert [c.describe() for c in diff(on_15, on_18)] == []
    assert [c.describe() for c in diff(on_18, on_15)] == []


def test_a_view_changed_is_a_difference_across_15_and_18(
        new_pg15_database: Callable[[], str], new_database: Callable[[], str]) -> None:
    changed = VIEWS.replace("WHERE kind = 'retail'", "WHERE kind = 'wholesale'").replace(
        # the sublink's qualifier that names the outer level: o2's own id is another column
        "o2.customer_id = c.id", "o2.customer_id = o2.id").replace(
        "FROM customers c WHERE c.score > 5", "FROM customers c WHERE c.score > 6").replace(
        "FROM generate_series(1, 10) g(i)", "FROM generate_series(1, 11) g(i)")
    on_15, on_18 = _build(new_pg15_database(), changed), _build(new_database(), VIEWS)
    assert {(c.subject, c.attribute) for c in diff(on_15, on_18)} == {
        ("public.v_single", "definition"), ("public.v_sub", "definition"),
        ("public.v_alias", "definition"), ("public.v_function", "definition")}


@pytest.mark.parametrize(("case", "direction"), [
    *((case, "forward") for case in PAIRS_ON_15),
    *((case, "backward") for case in BACKWARD_ON_15)])
def test_pairs_round_trip_on_15(case: str, direction: str,
                                new_pg15_database: Callable[[], str],
                                built_on_15: _Built, tmp_path: Path) -> None:
    a_sql = (PAIRS / case / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / case / "b.sql").read_text(encoding="utf-8")
    if direction == "backward":
        a_sql, b_sql = b_sql, a_sql
    changes, _ = _round_trip(new_pg15_database, tmp_path, a_sql, b_sql,
                             built=built_on_15)
    assert changes, "the pair must differ, or it tests nothing"


def test_a_partitioned_tables_foreign_key_is_added_valid_in_one_step_before_18(
        new_pg15_database: Callable[[], str], built_on_15: _Built, tmp_path: Path) -> None:
    # 15 refuses `ADD ... FOREIGN KEY ... NOT VALID` on a partitioned table (0A000, "not
    # yet supported"): the key is added valid, its scan under SHARE ROW EXCLUSIVE said.
    a_sql = (PAIRS / "partition_fk_copies" / "a.sql").read_text(encoding="utf-8")
    b_sql = (PAIRS / "partition_fk_copies" / "b.sql").read_text(encoding="utf-8")
    _, statements = _round_trip(new_pg15_database, tmp_path, a_sql, b_sql, built=built_on_15)
    [added] = [s for s in statements if " ADD CONSTRAINT orders_customer_fkey " in s.sql]
    assert added.sql == ("ALTER TABLE public.orders ADD CONSTRAINT orders_customer_fkey "
                         "FOREIGN KEY (customer) REFERENCES customers(id)")
    assert [h.kind for h in added.hazards] == ["share-lock"]
    assert "PostgreSQL before 18" in added.hazards[0].message
    assert not any(s.sql.endswith("VALIDATE CONSTRAINT orders_customer_fkey")
                   for s in statements)
    # The same snapshots said to be of 18: NOT VALID, then validated, writes continuing.
    a, b = _build(new_pg15_database(), a_sql), _build(new_pg15_database(), b_sql)
    on_18 = [s.sql for s in plan(replace(a, server_version=180001), b, diff(a, b))]
    assert added.sql + " NOT VALID" in on_18
    assert "ALTER TABLE public.orders VALIDATE CONSTRAINT orders_customer_fkey" in on_18


def test_a_function_named_by_a_later_keyword_is_read_quoted_on_15(
        new_pg15_database: Callable[[], str]) -> None:
    # 15's quote_ident leaves `json` bare (a keyword from 16), and `WITH FUNCTION json(b64)`
    # is then the JSON constructor to 16 and later and to pglast: read as 18 prints it.
    snapshot = _build(new_pg15_database(), """
        CREATE DOMAIN b64 AS bytea;
        CREATE FUNCTION "json"(b64) RETURNS json LANGUAGE sql
            AS $$ SELECT to_json(encode($1, 'base64')) $$;
        CREATE CAST (b64 AS json) WITH FUNCTION "json"(b64);
        CREATE FUNCTION "json"() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
        CREATE EVENT TRIGGER j ON ddl_command_end EXECUTE FUNCTION "json"();""")
    assert [c.function for c in snapshot.casts] == ['"json"(b64)']
    assert [e.function for e in snapshot.event_triggers] == ['public."json"()']


def test_not_null_constraints_of_18_are_said_not_made_on_15(
        new_pg15_database: Callable[[], str]) -> None:
    # A target read from 18 (drift's migrations at head are built there) with a NOT NULL
    # constraint's chosen name, NO INHERIT and NOT VALID: 18's grammar, which 15 refuses
    # (42601), so said once a column; a NOT VALID one is made plainly NOT NULL.
    url = new_pg15_database()
    a = _build(url, "CREATE TABLE t (id int, a int NOT NULL, b int, c int);"
                    "INSERT INTO t VALUES (1, 1, 2, 3);")
    t = a.relation("public", "t")
    assert t is not None
    ident, col_a, col_b, col_c = t.columns
    b = replace(a, relations=(replace(t, columns=(
        ident, replace(col_a, details=ColumnDetails(not_null_name="keep_me",
                                                    not_null_no_inherit=True)),
        replace(col_b, nullable=False, details=ColumnDetails(not_null_not_valid=True)),
        col_c, Column("d", "integer", 5, nullable=False, default="0",
                      details=ColumnDetails(not_null_not_valid=True)))),))
    statements = plan(a, b, diff(a, b))
    said = [s for s in statements if s.sql.startswith("--")]
    assert [s.sql for s in said] == [
        f"-- column public.t.{name}: its NOT NULL constraint ({what}) is not generated: the "
        "server is older than PostgreSQL 18" for name, what in (
            ("a", "name keep_me, NO INHERIT"), ("b", "NOT VALID"), ("d", "NOT VALID"))]
    assert {h.kind for s in said for h in s.hazards} == {"not-generated"}
    assert not any("NOT VALID" in s.sql and " NOT NULL " in s.sql for s in statements
                   if not s.sql.startswith("--"))
    _apply(url, statements, b)
    made = introspect_url(url).relation("public", "t")
    assert made is not None
    assert [(c.name, c.nullable) for c in made.columns] == [
        ("id", True), ("a", False), ("b", False), ("c", True), ("d", False)]


def test_dump_and_restore_on_15_is_no_difference(new_pg15_database: Callable[[], str],
                                                 tmp_path: Path) -> None:
    source = new_pg15_database()
    before = _build(source, SHOP.read_text(encoding="utf-8"))
    restored = new_pg15_database()
    params = conninfo_to_dict(source)
    connect = ["--host", str(params["host"]), "--port", str(params["port"]),
               "--username", str(params["user"])]
    dump = tmp_path / "shop.dump"
    subprocess.run([str(PG15_BIN / "pg_dump"), *connect, "--format=custom", "--file",
                    str(dump), str(params["dbname"])], check=True, capture_output=True)
    subprocess.run([str(PG15_BIN / "pg_restore"), *connect, "--dbname",
                    str(conninfo_to_dict(restored)["dbname"]), str(dump)],
                   check=True, capture_output=True)
    with psycopg.connect(restored) as conn:
        assert conn.info.server_version // 10000 == 15
    assert [c.describe() for c in diff(before, introspect_url(restored))] == []


def test_index_and_constraint_definitions_are_the_servers_on_15(
        new_pg15_database: Callable[[], str], caplog: pytest.LogCaptureFixture) -> None:
    with psycopg.connect(new_pg15_database()) as conn:
        check_definitions(conn, caplog)


@pytest.mark.parametrize("direction", ["grant", "revoke"])
def test_a_table_grant_round_trips_on_15_without_maintain(
        direction: str, new_pg15_database: Callable[[], str], built_on_15: _Built,
        tmp_path: Path) -> None:
    # A table's owner holds MAINTAIN by default from 17 only: on 15 the SQL that takes a
    # table from its default privileges to a grant (or back) must not name it ("unrecognized
    # privilege type"), as verify-reversible's fixes did.
    plain = "CREATE TABLE t (id int PRIMARY KEY);"
    granted = plain + " GRANT SELECT ON t TO PUBLIC;"
    a_sql, b_sql = (plain, granted) if direction == "grant" else (granted, plain)
    _, statements = _round_trip(new_pg15_database, tmp_path, a_sql, b_sql,
                                built=built_on_15)
    assert statements and not any("MAINTAIN" in s.sql for s in statements)


# migra's `collations` fixture (ICU: the embedded 18 is built without it, 0A000), with a
# nondeterministic ICU collation replacing a deterministic one under a unique column.
ICU_A = """
CREATE COLLATION posix FROM "POSIX";
CREATE TABLE t (a text, b text COLLATE posix);
CREATE COLLATION numeric (provider = icu, locale = 'en-u-kn-true');
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2');
COMMENT ON COLLATION ci IS 'case';
CREATE TABLE u (id int, name text COLLATE ci UNIQUE);
"""
ICU_B = """
CREATE COLLATION numeric (provider = icu, locale = 'en-u-kn-true');
CREATE TABLE t (a text, b text COLLATE numeric, c text COLLATE numeric);
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
COMMENT ON COLLATION ci IS 'case';
CREATE TABLE u (id int, name text COLLATE ci UNIQUE);
"""


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_icu_collations_round_trip_on_15(direction: str, new_pg15_database: Callable[[], str],
                                         built_on_15: _Built, tmp_path: Path) -> None:
    a_sql, b_sql = (ICU_A, ICU_B) if direction == "forward" else (ICU_B, ICU_A)
    changes, statements = _round_trip(new_pg15_database, tmp_path, a_sql, b_sql,
                                      built=built_on_15)
    assert ("collation", "public.ci", "deterministic") in {
        (c.kind, c.subject, c.attribute) for c in changes}
    assert "CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2'" + (
        ", deterministic = false)" if direction == "forward" else ")") in [
            s.sql for s in statements]


_STATISTICS = """CREATE TABLE t (a int, b int, c text);
CREATE STATISTICS s_set ON a, b FROM t;
ALTER STATISTICS s_set SET STATISTICS 300;
CREATE STATISTICS s_default (mcv) ON a, lower(c) FROM t;
"""


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_statistics_targets_round_trip_on_15(direction: str,
                                             new_pg15_database: Callable[[], str],
                                             new_database: Callable[[], str],
                                             built_on_15: _Built, tmp_path: Path) -> None:
    """Up to 16 a statistics object's default target is -1, from 17 NULL: the same
    schema reads the same on both, and a target set or reset round-trips on 15."""
    other = _STATISTICS.replace("SET STATISTICS 300;", "SET STATISTICS 300;\n"
                                "ALTER STATISTICS s_set SET STATISTICS -1;") \
        + "ALTER STATISTICS s_default SET STATISTICS 20;\n"
    assert not [c.describe() for c in diff(_build(new_pg15_database(), other),
                                           _build(new_database(), other))]
    a_sql, b_sql = (_STATISTICS, other) if direction == "forward" else (other, _STATISTICS)
    changes, _ = _round_trip(new_pg15_database, tmp_path, a_sql, b_sql,
                             built=built_on_15)
    assert {(c.subject, c.attribute) for c in changes} == {
        ("public.s_set", "target"), ("public.s_default", "target")}

"""Renames lint follows as PostgreSQL does them.

`ALTER TABLE x RENAME TO y` renames whatever `x` is -- an index, a sequence, a view -- and
`ALTER INDEX x RENAME TO y` a table too; pglast gives the statement the same tree either way.
Facts lint knows of a column by its name (from an earlier migration or the database's
schema) must follow the column, or its table, to the new name. Each case is first run on
PostgreSQL, then linted twice: with the schema as an earlier migration, and alone with the
database's schema (`--database-url`).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Finding
from dbsafe.lint.locks import LockRow

pytestmark = pytest.mark.db

ORDERS = ("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, note varchar(50),"
          " qty integer);\n"
          "INSERT INTO orders SELECT i, i, 'n', i FROM generate_series(1, 100) AS i;\n"
          "ALTER TABLE orders ADD CONSTRAINT note_present CHECK (note IS NOT NULL);\n"
          "CREATE INDEX ix_customer ON orders (customer_id);\n"
          "CREATE SEQUENCE invoice_numbers;\n"
          "CREATE VIEW open_orders AS SELECT id, customer_id FROM orders;\n")


def _findings(tmp_path: Path, change: str, conninfo: str | None, *,
              later: str = "", schema: str = ORDERS) -> list[Finding]:
    """Lint's findings on `change` (and `later`, a migration after it): after `schema` as
    an earlier migration, or alone with the database at `conninfo`."""
    folder = tmp_path / ("database" if conninfo else "history") / "migrations"
    folder.mkdir(parents=True)
    if conninfo is None:
        (folder / "001_schema.sql").write_text(schema, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    if later:
        (folder / "003_later.sql").write_text(later, encoding="utf-8")
    settings = Settings(project_root=folder.parent, database_url=conninfo,
                        target_version=180000)
    return [f for f in commands.lint(settings, [folder]).findings
            if f.location is not None and not f.location.path.endswith("001_schema.sql")]


def _set_not_null_notices(conninfo: str, schema: str, change: str) -> list[str]:
    """Run `schema`, then `change` whose last line is a SET NOT NULL, rolled back: the
    DEBUG1 notices PostgreSQL sends for the SET NOT NULL."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
    *before, set_not_null = change.splitlines()
    notices: list[str] = []
    with psycopg.connect(conninfo) as conn:
        if before:
            conn.execute("\n".join(before))
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("SET client_min_messages = debug1")
        conn.execute(set_not_null)
        conn.rollback()
    return notices


def _set_not_null_skips_its_scan(conninfo: str, schema: str, change: str) -> bool:
    """Run `schema`, then `change` whose last line is a SET NOT NULL: does PostgreSQL say a
    constraint proves the column has no nulls (no scan; its DEBUG1 notice)?"""
    notices = _set_not_null_notices(conninfo, schema, change)
    return any("sufficient to prove that it does not contain nulls" in n for n in notices)


def _history_codes(tmp_path: Path, schema: str, change: str) -> set[str]:
    """The codes lint reports on `schema` then `change`, two migrations of a SQL folder."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_schema.sql").write_text(schema, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    report = commands.lint(Settings(project_root=tmp_path, target_version=180000), [folder])
    return {f.code for f in report.findings}


def _assert_rewrite_known(conninfo: str, tmp_path: Path, change: str, table: str,
                          rewrite: bool) -> None:
    """`change` (after ORDERS) leaves `orders`, by then `table`, rewritten or not
    (relfilenode), and lint says so of its type change, with the schema as an earlier
    migration and with the database's: DBS110 "rewrites", or nothing."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as conn:
        node = conn.execute("SELECT pg_relation_filenode('orders'::regclass)").fetchone()[0]
        conn.execute(change)
        assert (conn.execute(f"SELECT pg_relation_filenode('{table}'::regclass)")
                .fetchone()[0] != node) is rewrite
        conn.rollback()
    for url in (None, conninfo):
        found = [f for f in _findings(tmp_path, change, url) if f.code == "DBS110"]
        if rewrite:
            assert len(found) == 1 and "from `integer` to `bigint` rewrites" in found[0].message
        else:
            assert found == [], url


def _lock_rows(tmp_path: Path, change: str, conninfo: str | None) -> list[LockRow]:
    folder = tmp_path / ("locks-database" if conninfo else "locks-history") / "migrations"
    folder.mkdir(parents=True)
    if conninfo is None:
        (folder / "001_schema.sql").write_text(ORDERS, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    rows = commands.lock_report(Settings(project_root=folder.parent, database_url=conninfo),
                                [folder])
    return [row for row in rows if row.location.path.endswith("002_change.sql")]


def _held(conn: psycopg.Connection, relation: str) -> set[str]:
    """The lock modes this session holds on `relation` (a name, as pg_class has it now)."""
    return {mode for (mode,) in conn.execute(
        "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.pid = pg_backend_pid() AND c.relname = %s", (relation,)).fetchall()}


def _kind(conn: psycopg.Connection, relation: str) -> str | None:
    row = conn.execute("SELECT relkind FROM pg_class WHERE relname = %s "
                       "AND relnamespace = 'public'::regnamespace", (relation,)).fetchone()
    return row[0] if row else None


def test_an_index_renamed_by_alter_table_is_followed_as_an_index(conninfo: str,
                                                                 tmp_path: Path) -> None:
    """`ALTER TABLE ix_customer RENAME TO ix_buyer` renames the index, under ACCESS
    EXCLUSIVE on it (ALTER INDEX takes SHARE UPDATE EXCLUSIVE) that stops every query on
    its table. Lint read it as the rename of a table `ix_customer`: DBS204 (table renamed)
    on an index, and the index kept its old name, so the DROP INDEX after it did not know
    which table it locks."""
    change = "ALTER TABLE ix_customer RENAME TO ix_buyer;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as migrating, \
            psycopg.connect(conninfo, autocommit=True) as other:
        migrating.execute(change)
        assert _held(migrating, "ix_buyer") == {"AccessExclusiveLock"}
        assert _held(migrating, "orders") == set()
        assert (_kind(migrating, "ix_buyer"), _kind(migrating, "orders")) == ("i", "r")
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("SELECT count(*) FROM orders WHERE customer_id = 1")
        migrating.rollback()
        migrating.execute("ALTER INDEX ix_customer RENAME TO ix_buyer")
        assert _held(migrating, "ix_buyer") == {"ShareUpdateExclusiveLock"}
        migrating.rollback()
    for url in (None, conninfo):
        found = _findings(tmp_path, change, url, later="DROP INDEX ix_buyer;\n")
        assert "DBS204" not in {f.code for f in found}, url
        [drop] = [f for f in found if f.code == "DBS103"]
        assert drop.subject == "ix_buyer"
        assert "reads and writes on `" in drop.message and "orders`" in drop.message, url
        # Queries queue on the index's table while the rename waits for its lock.
        [timeout] = [f for f in found if f.code == "DBS115"
                     and f.location is not None and f.location.path.endswith("002_change.sql")]
        assert (timeout.subject or "").endswith("orders"), url
        [row] = _lock_rows(tmp_path, change, url)
        assert (row.mode, row.relation, row.blocks_reads) == (
            "ACCESS EXCLUSIVE", "ix_customer", True), url


@pytest.mark.parametrize(("change", "renamed", "kind", "flagged"), [
    ("ALTER TABLE invoice_numbers RENAME TO invoice_no;\n", "invoice_no", "S", None),
    ("ALTER TABLE open_orders RENAME TO pending_orders;\n", "pending_orders", "v", "View"),
    ("ALTER INDEX orders RENAME TO purchases;\n", "purchases", "r", "Table"),
], ids=["sequence by alter table", "view by alter table", "table by alter index"])
def test_a_relation_renamed_by_another_kind_of_alter_is_judged_as_what_it_is(
        conninfo: str, tmp_path: Path, change: str, renamed: str, kind: str,
        flagged: str | None) -> None:
    """PostgreSQL renames what the name is, under ACCESS EXCLUSIVE (ALTER INDEX of a
    table retries with that lock). Lint flagged a sequence renamed by ALTER TABLE as a
    table, said "Table" of a view, and took ALTER INDEX of a table for an index's rename
    (SHARE UPDATE EXCLUSIVE, not flagged)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as migrating:
        migrating.execute(change)
        assert _kind(migrating, renamed) == kind
        assert _held(migrating, renamed) >= {"AccessExclusiveLock"}
        migrating.rollback()
    for url in (None, conninfo):
        renames = [f for f in _findings(tmp_path, change, url) if f.code == "DBS204"]
        assert [f.message.split()[0] for f in renames] == ([flagged] if flagged else []), url
        assert [row.mode for row in _lock_rows(tmp_path, change, url)] == [
            "ACCESS EXCLUSIVE"], url


@pytest.mark.parametrize(("change", "rewrite"), [
    ("ALTER TABLE orders RENAME COLUMN note TO memo;\n"
     "ALTER TABLE orders ALTER COLUMN memo TYPE varchar(200);\n", False),
    ("ALTER TABLE orders RENAME COLUMN qty TO quantity;\n"
     "ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;\n", True),
    ("ALTER TABLE orders RENAME TO purchases;\n"
     "ALTER TABLE purchases ALTER COLUMN note TYPE varchar(200);\n", False),
    ("ALTER TABLE orders RENAME TO purchases;\n"
     "ALTER TABLE purchases ALTER COLUMN qty TYPE bigint;\n", True),
], ids=["column widened", "column rewritten", "table's column widened",
        "table's column rewritten"])
def test_a_column_type_known_before_a_rename_is_known_after_it(
        conninfo: str, tmp_path: Path, change: str, rewrite: bool) -> None:
    """The type of a column renamed (or of a table renamed) is still known: widening a
    varchar is no rewrite, integer to bigint is one. With the database's schema, lint lost
    the type at the rename and said DBS110 "may rewrite ... the column's current type is
    unknown" of both."""
    table = "purchases" if "RENAME TO" in change else "orders"
    _assert_rewrite_known(conninfo, tmp_path, change, table, rewrite)


@pytest.mark.parametrize("before", [
    "ALTER TABLE orders ALTER COLUMN qty SET DEFAULT 0;\n",
    "ALTER TABLE orders ALTER COLUMN qty DROP DEFAULT;\n",
    "ALTER TABLE orders DROP CONSTRAINT orders_pkey;\n"
    "ALTER TABLE orders ADD PRIMARY KEY (id, qty);\n",
], ids=["default set", "default dropped", "in a new primary key"])
def test_a_column_type_known_before_its_default_or_key_changes_is_known_after_it(
        conninfo: str, tmp_path: Path, before: str) -> None:
    """A DEFAULT set or dropped, or a primary key made of the column, keeps its type:
    integer to bigint is still a rewrite. With the database's schema lint forgot the type
    there and said DBS110 "may rewrite ... the column's current type is unknown"
    (bytebase's 3.17 `ADD PRIMARY KEY (project, id)` and `ALTER COLUMN id DROP DEFAULT`
    before its `SET DATA TYPE bigint`; task 469)."""
    change = before + "ALTER TABLE orders ALTER COLUMN qty TYPE bigint;\n"
    _assert_rewrite_known(conninfo, tmp_path, change, "orders", True)


RUNS = "CREATE TABLE runs (id serial PRIMARY KEY, project text NOT NULL);\n"


@pytest.mark.parametrize(("default", "flagged"), [
    ("", True),
    ("ALTER TABLE runs ALTER COLUMN id DROP DEFAULT;\n", False),
    ("ALTER TABLE runs ALTER COLUMN id SET DEFAULT 0;\n", False),
], ids=["serial", "default dropped", "default replaced"])
def test_a_serial_whose_default_is_gone_is_a_plain_integer_in_a_composite_key(
        conninfo: str, tmp_path: Path, default: str, flagged: bool) -> None:
    """DBS209 flags a serial inside a new composite primary key, not a plain integer one: a
    serial whose nextval DEFAULT the migration dropped or replaced takes no more numbers
    from its sequence (PostgreSQL inserts 0, or fails on NULL). Lint kept it a serial after
    the DEFAULT was gone (task 469)."""
    change = (f"{default}ALTER TABLE runs DROP CONSTRAINT runs_pkey;\n"
              "ALTER TABLE runs ADD PRIMARY KEY (project, id);\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(RUNS)
    with psycopg.connect(conninfo) as conn:
        conn.execute(change)
        fed = conn.execute("SELECT pg_get_serial_sequence('runs', 'id') IS NOT NULL AND "
                           "pg_get_expr(adbin, adrelid) LIKE 'nextval%' FROM pg_attrdef "
                           "WHERE adrelid = 'runs'::regclass").fetchall()
        assert (fed == [(True,)]) is flagged
        conn.rollback()
    for url in (None, conninfo):
        found = {f.code for f in _findings(tmp_path, change, url, schema=RUNS)}
        assert ("DBS209" in found) is flagged, url


@pytest.mark.parametrize("rename", [
    "ALTER TABLE orders RENAME COLUMN note TO memo;\n",
    "ALTER TABLE orders RENAME TO purchases;\n",
], ids=["column", "table"])
def test_a_not_null_proof_follows_a_rename(conninfo: str, tmp_path: Path,
                                           rename: str) -> None:
    """The validated CHECK (note IS NOT NULL) still proves the renamed column NOT NULL:
    PostgreSQL 18 skips the scan of SET NOT NULL. With the database's schema lint read the
    proof by the column's and table's old names, and flagged the SET NOT NULL (DBS107)."""
    table = "purchases" if "RENAME TO" in rename else "orders"
    column = "memo" if "COLUMN" in rename else "note"
    change = rename + f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;\n"
    assert _set_not_null_skips_its_scan(conninfo, ORDERS, change)
    for url in (None, conninfo):
        assert "DBS107" not in {f.code for f in _findings(tmp_path, change, url)}, url


def test_a_partitioned_table_renamed_is_still_partitioned(conninfo: str,
                                                          tmp_path: Path) -> None:
    """PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table under its new
    name too. Lint forgot that the table is partitioned at the rename (the history's and
    the database's), and missed DBS121."""
    schema = ("CREATE TABLE events (at date, kind text) PARTITION BY RANGE (at);\n"
              "CREATE TABLE events_2025 PARTITION OF events "
              "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n")
    change = ("ALTER TABLE events RENAME TO happenings;\n"
              "CREATE INDEX CONCURRENTLY ix_kind ON happenings (kind);\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
        conn.execute(change.splitlines()[0])
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(change.splitlines()[1])
        conn.execute("ALTER TABLE happenings RENAME TO events")
    for earlier, url in ((schema, None), ("", conninfo)):
        folder = tmp_path / ("database" if url else "history") / "migrations"
        folder.mkdir(parents=True)
        if earlier:
            (folder / "001_schema.sql").write_text(earlier, encoding="utf-8")
        (folder / "002_change.sql").write_text(change, encoding="utf-8")
        report = commands.lint(Settings(project_root=folder.parent, database_url=url),
                               [folder])
        assert "DBS121" in {f.code for f in report.findings}, url


def test_a_not_valid_check_validated_after_its_column_is_renamed_proves_it_not_null(
        conninfo: str, tmp_path: Path) -> None:
    """A NOT VALID CHECK (qty IS NOT NULL), validated after the column is renamed, proves
    the renamed column NOT NULL: no scan at SET NOT NULL. Lint recorded the proof for the
    old name (DBS107). (The database's NOT VALID check: see
    test_a_not_valid_check_validated_by_the_migration_proves_its_column_not_null.)"""
    schema = ORDERS + ("ALTER TABLE orders ADD CONSTRAINT qty_present "
                       "CHECK (qty IS NOT NULL) NOT VALID;\n")
    change = ("ALTER TABLE orders RENAME COLUMN qty TO quantity;\n"
              "ALTER TABLE orders VALIDATE CONSTRAINT qty_present;\n"
              "ALTER TABLE orders ALTER COLUMN quantity SET NOT NULL;\n")
    assert _set_not_null_skips_its_scan(conninfo, schema, change)
    assert "DBS107" not in _history_codes(tmp_path, schema, change)


def test_a_not_valid_check_renamed_then_validated_proves_its_column_not_null(
        conninfo: str, tmp_path: Path) -> None:
    """RENAME CONSTRAINT of a NOT VALID CHECK (qty IS NOT NULL), then VALIDATE under the
    new name: PostgreSQL's SET NOT NULL needs no scan. Lint kept the pending check under
    its old name, so the VALIDATE proved nothing and SET NOT NULL was DBS107."""
    schema = ORDERS + ("ALTER TABLE orders ADD CONSTRAINT qty_present "
                       "CHECK (qty IS NOT NULL) NOT VALID;\n")
    change = ("ALTER TABLE orders RENAME CONSTRAINT qty_present TO qty_given;\n"
              "ALTER TABLE orders VALIDATE CONSTRAINT qty_given;\n"
              "ALTER TABLE orders ALTER COLUMN qty SET NOT NULL;\n")
    assert _set_not_null_skips_its_scan(conninfo, schema, change)
    assert "DBS107" not in _history_codes(tmp_path, schema, change)


@pytest.mark.parametrize(("column", "rewrite"), [("note", False), ("qty", True)])
def test_a_column_type_known_before_set_schema_is_known_after_it(
        conninfo: str, tmp_path: Path, column: str, rewrite: bool) -> None:
    """ALTER TABLE ... SET SCHEMA moves the table with its columns. With the database's
    schema, lint read `archive.orders`'s columns from a table `archive.orders` the
    database does not have, and said DBS110 "may rewrite ... unknown" of both changes."""
    new = "varchar(200)" if column == "note" else "bigint"
    change = ("CREATE SCHEMA archive;\nALTER TABLE orders SET SCHEMA archive;\n"
              f"ALTER TABLE archive.orders ALTER COLUMN {column} TYPE {new};\n")
    _assert_rewrite_known(conninfo, tmp_path, change, "archive.orders", rewrite)


@pytest.mark.parametrize("check", ["qty int CHECK (qty IS NOT NULL)",
                                   "qty int, CONSTRAINT qty_present CHECK (qty IS NOT NULL)"],
                         ids=["column", "table"])
def test_a_check_written_in_create_table_proves_its_column_not_null(
        conninfo: str, tmp_path: Path, check: str) -> None:
    """A CHECK (qty IS NOT NULL) of CREATE TABLE, in an earlier migration: PostgreSQL 18
    skips the scan of a later SET NOT NULL. Lint recorded only ADD CONSTRAINT's checks
    as proofs, and flagged it (DBS107)."""
    schema = f"CREATE TABLE stock (id bigint PRIMARY KEY, {check});\n"
    change = "ALTER TABLE stock ALTER COLUMN qty SET NOT NULL;\n"
    rows = "INSERT INTO stock SELECT g, g FROM generate_series(1, 100) g;\n"
    assert _set_not_null_skips_its_scan(conninfo, schema + rows, change)
    assert "DBS107" not in _history_codes(tmp_path, schema, change)


PENDING = ORDERS + ("ALTER TABLE orders ADD CONSTRAINT qty_present "
                    "CHECK (qty IS NOT NULL) NOT VALID;\n")


@pytest.mark.parametrize(("change", "table", "column"), [
    ("ALTER TABLE orders VALIDATE CONSTRAINT qty_present;\n", "orders", "qty"),
    ("ALTER TABLE orders RENAME COLUMN qty TO quantity;\n"
     "ALTER TABLE orders VALIDATE CONSTRAINT qty_present;\n", "orders", "quantity"),
    ("ALTER TABLE orders RENAME CONSTRAINT qty_present TO qty_given;\n"
     "ALTER TABLE orders VALIDATE CONSTRAINT qty_given;\n", "orders", "qty"),
    ("ALTER TABLE orders RENAME TO purchases;\n"
     "ALTER TABLE purchases VALIDATE CONSTRAINT qty_present;\n", "purchases", "qty"),
    ("CREATE SCHEMA archive;\nALTER TABLE orders SET SCHEMA archive;\n"
     "ALTER TABLE archive.orders VALIDATE CONSTRAINT qty_present;\n",
     "archive.orders", "qty"),
], ids=["validated", "column renamed", "constraint renamed", "table renamed",
        "table moved"])
def test_a_not_valid_check_validated_by_the_migration_proves_its_column_not_null(
        conninfo: str, tmp_path: Path, change: str, table: str, column: str) -> None:
    """A `CHECK (qty IS NOT NULL) NOT VALID` of the database (or of an earlier migration)
    that the migration validates -- after a rename of the column, the constraint, the
    table, or SET SCHEMA -- proves the column NOT NULL: PostgreSQL 18 skips the scan of
    the SET NOT NULL after it. Lint read only the database's validated checks as proofs,
    and flagged it (DBS107); with the check added by an earlier migration, it lost the
    pending check at a rename of its table."""
    change += f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;\n"
    assert _set_not_null_skips_its_scan(conninfo, PENDING, change)
    for url in (None, conninfo):
        codes = {f.code for f in _findings(tmp_path, change, url, schema=PENDING)}
        assert "DBS107" not in codes, url


def test_a_not_valid_check_not_validated_proves_nothing(conninfo: str,
                                                        tmp_path: Path) -> None:
    """Unvalidated, the NOT VALID check does not spare SET NOT NULL its scan."""
    change = "ALTER TABLE orders ALTER COLUMN qty SET NOT NULL;\n"
    notices = _set_not_null_notices(conninfo, PENDING, change)
    assert any(n.startswith("verifying table") for n in notices), notices
    for url in (None, conninfo):
        codes = {f.code for f in _findings(tmp_path, change, url, schema=PENDING)}
        assert "DBS107" in codes, url


def test_the_database_index_of_a_table_renamed_is_on_the_new_name(conninfo: str,
                                                                  tmp_path: Path) -> None:
    """`ix_customer` is `purchases`' index after `orders` is renamed: DROP INDEX locks
    `purchases`. With the database's schema lint named the table by its old name."""
    change = "ALTER TABLE orders RENAME TO purchases;\nDROP INDEX ix_customer;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as migrating:
        migrating.execute(change.splitlines()[0])
        assert migrating.execute("SELECT indrelid::regclass::text FROM pg_index WHERE "
                                 "indexrelid = 'ix_customer'::regclass").fetchone() == (
            "purchases",)
        migrating.rollback()
    for url in (None, conninfo):
        [drop] = [f for f in _findings(tmp_path, change, url) if f.code == "DBS103"]
        assert "reads and writes on `purchases`" in drop.message, (url, drop.message)


def test_work_on_a_renamed_table_s_index_is_work_on_the_new_name(conninfo: str,
                                                                 tmp_path: Path) -> None:
    """OpenHands 079: rename a table, drop its index, build another, in one transaction.
    The DROP INDEX locks only the renamed table, already ACCESS EXCLUSIVE locked: quick
    catalog work. DBS114 named it work on the table's old name, as if another table, and
    so reported the wrong statement; the slow one is the CREATE INDEX, which reads every row
    under the rename's lock."""
    change = ("ALTER TABLE orders RENAME TO purchases;\nDROP INDEX ix_customer;\n"
              "CREATE INDEX ix_purchases_customer ON purchases (customer_id);\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as migrating:
        rename, drop, _ = change.splitlines()
        migrating.execute(rename)
        migrating.execute(drop)
        assert _held(migrating, "purchases") == {"AccessExclusiveLock"}
        assert _kind(migrating, "orders") is None  # no other table it could wait for
        migrating.rollback()
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_schema.sql").write_text(ORDERS, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    report = commands.lint(Settings(project_root=tmp_path, target_version=180000,
                                    sql_migrations_in_transaction=True), [folder])
    found = [(f.location.line, f.message.split(";")[0]) for f in report.findings
             if f.code == "DBS114" and f.location is not None]
    assert found == [(3, "This statement works on `purchases` while `orders` (now "
                         "`purchases`) is still ACCESS EXCLUSIVE locked from line 1")]


@pytest.mark.parametrize(("earlier", "change", "query", "used"), [
    # ALTER INDEX of a table renames the table: the query stops working
    ("", "ALTER INDEX orders RENAME TO purchases;\n", "SELECT id FROM orders", True),
    ("CREATE TABLE invoices (id int);\n", "ALTER INDEX invoices RENAME TO bills;\n",
     "SELECT id FROM invoices", True),
    # ALTER TABLE of an index renames the index: no relation a query can read is renamed
    ("", "ALTER TABLE ix_customer RENAME TO ix_buyer;\n", "SELECT * FROM ix_customer", False),
    ("CREATE INDEX ix_qty ON orders (qty);\n", "ALTER TABLE ix_qty RENAME TO ix_amount;\n",
     "SELECT * FROM ix_qty", False),
], ids=["table by alter index", "earlier table by alter index", "index by alter table",
        "earlier index by alter table"])
def test_dbs211_reads_a_rename_as_what_it_renames(conninfo: str, tmp_path: Path,
                                                  earlier: str, change: str, query: str,
                                                  used: bool) -> None:
    """DBS211 read `ALTER INDEX orders RENAME` as an index's rename and missed the query
    the table's rename breaks; and `ALTER TABLE ix_customer RENAME` as a table's rename,
    blaming it for a query that never worked (PostgreSQL cannot read from an index)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as conn:
        if earlier:
            conn.execute(earlier)
        if used:  # it runs before the rename, and not after
            conn.execute(query)
            conn.execute(change)
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute(query)
        else:  # it never ran
            with pytest.raises(psycopg.errors.WrongObjectType):
                conn.execute(query)
        conn.rollback()
    folder = tmp_path / "migrations"
    folder.mkdir()
    if earlier:
        (folder / "001_earlier.sql").write_text(earlier, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "queries.sql").write_text(query + ";\n", encoding="utf-8")
    settings = Settings(project_root=tmp_path, database_url=conninfo, source_paths=("app",),
                        select=("DBS211",))
    found = [f for f in commands.lint(settings, [folder]).findings if f.code == "DBS211"]
    assert len(found) == used, found


PENDING_NOT_NULL = ORDERS + "ALTER TABLE orders ADD CONSTRAINT qty_nn NOT NULL qty NOT VALID;\n"


def _needs_18(conninfo: str) -> None:
    with psycopg.connect(conninfo) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("needs PostgreSQL 18")


def test_a_not_valid_not_null_constraint_does_not_spare_set_not_null_its_scan(
        conninfo: str, tmp_path: Path) -> None:
    """PostgreSQL 18: a NOT VALID `NOT NULL qty` marks the column NOT NULL (attnotnull)
    but leaves its rows unchecked, so SET NOT NULL validates it by a scan under ACCESS
    EXCLUSIVE. With the database's schema lint took the column as NOT NULL already."""
    _needs_18(conninfo)
    change = "ALTER TABLE orders ALTER COLUMN qty SET NOT NULL;\n"
    notices = _set_not_null_notices(conninfo, PENDING_NOT_NULL, change)
    assert any(n.startswith("verifying table") for n in notices), notices
    for url in (None, conninfo):
        codes = {f.code for f in _findings(tmp_path, change, url, schema=PENDING_NOT_NULL)}
        assert "DBS107" in codes, url


@pytest.mark.parametrize("change", [
    "ALTER TABLE orders VALIDATE CONSTRAINT qty_nn;\n",
    "ALTER TABLE orders RENAME COLUMN qty TO quantity;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT qty_nn;\n",
], ids=["validated", "column renamed"])
def test_a_not_valid_not_null_constraint_validated_by_the_migration_proves_its_column(
        conninfo: str, tmp_path: Path, change: str) -> None:
    """PostgreSQL 18: `VALIDATE CONSTRAINT` of the database's NOT VALID `NOT NULL qty`
    (SHARE UPDATE EXCLUSIVE: writes continue) leaves SET NOT NULL nothing to scan."""
    _needs_18(conninfo)
    column = "quantity" if "RENAME" in change else "qty"
    change += f"ALTER TABLE orders ALTER COLUMN {column} SET NOT NULL;\n"
    notices = _set_not_null_notices(conninfo, PENDING_NOT_NULL, change)
    assert not any(n.startswith("verifying table") for n in notices), notices
    for url in (None, conninfo):
        codes = {f.code for f in _findings(tmp_path, change, url, schema=PENDING_NOT_NULL)}
        assert "DBS107" not in codes, url


def test_an_index_of_a_database_table_the_migrations_dropped_is_gone_with_it(
        conninfo: str, tmp_path: Path) -> None:
    """`ix_customer` went with `orders`: a later `DROP INDEX IF EXISTS` drops nothing and
    locks no table. With the database's schema lint still found it on `orders` (DBS103)."""
    change = "DROP TABLE orders CASCADE;\nDROP INDEX IF EXISTS ix_customer;\n"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ORDERS)
    with psycopg.connect(conninfo) as migrating:
        migrating.execute(change.splitlines()[0])
        assert _kind(migrating, "ix_customer") is None
        migrating.rollback()
    assert [f.code for f in _findings(tmp_path, change, conninfo) if f.code == "DBS103"] == []


@pytest.mark.parametrize(("schema", "move", "sequence"), [
    (ORDERS, "ALTER SEQUENCE invoice_numbers SET SCHEMA archive", "invoice_numbers"),
    (ORDERS + "CREATE TABLE tickets (id serial PRIMARY KEY);\n",
     "ALTER TABLE tickets SET SCHEMA archive", "tickets_id_seq"),
], ids=["alter sequence", "with the table owning it"])
def test_a_database_sequence_moved_to_another_schema_is_still_a_sequence(
        conninfo: str, tmp_path: Path, schema: str, move: str, sequence: str) -> None:
    """SET SCHEMA moves a sequence, and a table's serial sequence with it: `ALTER TABLE
    archive.<sequence> RENAME` then renames the sequence. With the database's schema lint
    looked for it only where the database has it, and called it a table renamed (DBS204)."""
    change = (f"CREATE SCHEMA archive;\n{move};\n"
              f"ALTER TABLE archive.{sequence} RENAME TO numbers;\n")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(schema)
    with psycopg.connect(conninfo) as migrating:
        migrating.execute(change)
        assert migrating.execute("SELECT relkind FROM pg_class WHERE oid = "
                                 "'archive.numbers'::regclass").fetchone() == ("S",)
        migrating.rollback()
    assert [f.code for f in _findings(tmp_path, change, conninfo, schema=schema)
            if f.code == "DBS204"] == []

"""What earlier migrations built decides what a statement does: `IF NOT EXISTS` of a table
that is there creates nothing, and `ON ONLY` a partitioned table builds no index."""

from __future__ import annotations

from pathlib import Path

from dbsafe import commands
from dbsafe.config import Settings


def _lint(tmp_path: Path, *migrations: str) -> list[tuple[str, str | None]]:
    folder = tmp_path / "migrations"
    folder.mkdir(parents=True)
    for number, sql in enumerate(migrations, 1):
        (folder / f"{number:03d}.sql").write_text(sql, encoding="utf-8")
    report = commands.lint(Settings(project_root=tmp_path, ignore=("DBS115",)), [folder])
    return [(f.code, f.subject) for f in report.findings
            if f.location is not None and f.location.path.endswith(f"{len(migrations):03d}.sql")]


ORDERS = "CREATE TABLE orders (id bigint PRIMARY KEY, total integer, status text);\n"


def test_if_not_exists_of_a_table_already_there_leaves_its_changes_checked(
        tmp_path: Path) -> None:
    found = _lint(tmp_path, ORDERS,
                  "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY);\n"
                  "CREATE INDEX ix_total ON orders (total);\n"
                  "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n"
                  "ALTER TABLE orders DROP COLUMN status;\n")
    codes = {code for code, _ in found}
    assert {"DBS101", "DBS110", "DBS202"} <= codes


def test_if_not_exists_of_a_table_there_gives_it_none_of_its_columns(tmp_path: Path) -> None:
    # (task 485: PostgreSQL skips the CREATE; status stays nullable, and SET NOT NULL scans)
    found = _lint(tmp_path, ORDERS,
                  "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, "
                  "status text NOT NULL);\n"
                  "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n")
    assert ("DBS107", "orders.status") in found


def test_if_not_exists_of_a_new_table_is_still_a_new_table(tmp_path: Path) -> None:
    found = _lint(tmp_path, ORDERS,
                  "CREATE TABLE IF NOT EXISTS invoices (id bigint PRIMARY KEY, total int);\n"
                  "CREATE INDEX ix_invoices_total ON invoices (total);\n"
                  "ALTER TABLE invoices DROP COLUMN total;\n")
    assert found == []


def test_create_index_if_not_exists_of_an_index_there_does_not_make_it_new(
        tmp_path: Path) -> None:
    found = _lint(tmp_path, ORDERS + "CREATE INDEX ix_total ON orders (total);\n",
                  "CREATE INDEX IF NOT EXISTS ix_total ON orders (total);\n"
                  "DROP INDEX ix_total;\n")
    assert "DBS103" in {code for code, _ in found}


def test_on_only_a_partitioned_table_builds_nothing_on_a_plain_one_it_builds(
        tmp_path: Path) -> None:
    partitioned = ("CREATE TABLE meas (id bigint, v int) PARTITION BY RANGE (id);\n"
                   "CREATE TABLE meas_1 PARTITION OF meas FOR VALUES FROM (0) TO (100);\n")
    assert _lint(tmp_path / "a", partitioned,
                 "CREATE INDEX ix_meas_v ON ONLY meas (v);\n") == []
    assert _lint(tmp_path / "b", ORDERS,
                 "CREATE INDEX ix_total ON ONLY orders (total);\n") == [("DBS101", "orders")]


def test_a_collation_change_of_a_column_added_by_the_migration_rebuilds_only_its_indexes(
        tmp_path: Path) -> None:
    change = ("ALTER TABLE orders ADD COLUMN note text;\n"
              'ALTER TABLE orders ALTER COLUMN note TYPE text COLLATE "C";\n')
    assert _lint(tmp_path / "a", ORDERS, change) == []
    indexed = change.replace(";\n", ";\nCREATE INDEX ix_note ON orders (note);\n", 1)
    assert ("DBS122", "orders.note") in _lint(tmp_path / "b", ORDERS, indexed)
    # A migration later, the history of the table the migrations created says which
    # indexes use the column (svix's message.event_type: none, nothing rebuilt on
    # PostgreSQL 18); one an earlier migration built is rebuilt.
    later = 'ALTER TABLE orders ALTER COLUMN note TYPE text COLLATE "C";\n'
    assert _lint(tmp_path / "c", ORDERS + "ALTER TABLE orders ADD COLUMN note text;\n",
                 later) == []
    assert ("DBS122", "orders.note") in _lint(
        tmp_path / "d", ORDERS + "ALTER TABLE orders ADD COLUMN note text;\n"
        "CREATE INDEX ix_note ON orders (note);\n", later)


def test_index_advice_on_a_table_an_earlier_migration_partitioned(tmp_path: Path) -> None:
    # PostgreSQL 18 refuses both CONCURRENTLY forms there ("cannot create index on
    # partitioned table ... concurrently", "cannot drop partitioned index ...
    # concurrently"): the help must not send the user to them.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001.sql").write_text(
        "CREATE TABLE meas (id bigint, v int) PARTITION BY RANGE (id);\n"
        "CREATE TABLE meas_1 PARTITION OF meas FOR VALUES FROM (0) TO (100);\n"
        "CREATE INDEX ix_meas_v ON meas (v);\n")
    (folder / "002.sql").write_text("DROP INDEX ix_meas_v;\nCREATE INDEX ix_meas_id ON meas (id);\n")
    report = commands.lint(Settings(project_root=tmp_path, ignore=("DBS115",)), [folder])
    helps = {f.code: f.help or "" for f in report.findings}
    assert set(helps) == {"DBS101", "DBS103"}
    assert "ON ONLY the parent" in helps["DBS101"]
    assert "cannot be dropped concurrently" in helps["DBS103"]
    assert "Use " not in helps["DBS101"] + helps["DBS103"]


def test_create_table_if_not_exists_of_a_table_there_locks_and_adds_nothing(
        tmp_path: Path) -> None:
    # (task 545, justicehub's 20260106000003: PostgreSQL 18 skips the CREATE before its
    # keys, so `orders` is not locked and no key is added; pg_locks shows no lock at all)
    folder = tmp_path / "migrations"
    folder.mkdir()
    nodes = ("CREATE TABLE IF NOT EXISTS nodes (id bigint PRIMARY KEY, "
             "order_id bigint REFERENCES orders (id));\n")
    (folder / "001.sql").write_text(ORDERS + nodes.replace(" IF NOT EXISTS", ""),
                                    encoding="utf-8")
    (folder / "002.sql").write_text(nodes + "CREATE TABLE IF NOT EXISTS events ("
                                    "id bigint PRIMARY KEY, node_id bigint REFERENCES "
                                    "nodes (id));\n", encoding="utf-8")
    report = commands.lint(Settings(project_root=tmp_path), [folder])
    later = [(f.code, f.location.line) for f in report.findings
             if f.location is not None and f.location.path.endswith("002.sql")]
    # Only the new table's key: its SHARE ROW EXCLUSIVE lock on `nodes` (DBS115) and no
    # index on `events.node_id` (DBS117); nothing on line 1, no DBS125 for line 2.
    assert sorted(later) == [("DBS115", 2), ("DBS117", 2)]
    # The table a first migration made is still checked as before.
    earlier = {f.code for f in report.findings
               if f.location is not None and f.location.path.endswith("001.sql")}
    assert "DBS117" in earlier
    # `lint --locks` lists no lock for the skipped CREATE, the new table's on `nodes`
    rows = commands.lock_report(Settings(project_root=tmp_path), [folder])
    assert sorted((row.location.line, row.mode, row.relation) for row in rows
                  if row.location.path.endswith("002.sql")) == [
        (2, "SHARE ROW EXCLUSIVE", "nodes")]

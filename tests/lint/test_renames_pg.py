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
              later: str = "") -> list[Finding]:
    """Lint's findings on `change` (and `later`, a migration after it): after ORDERS as an
    earlier migration, or alone with the database at `conninfo`."""
    folder = tmp_path / ("database" if conninfo else "history") / "migrations"
    folder.mkdir(parents=True)
    if conninfo is None:
        (folder / "001_schema.sql").write_text(ORDERS, encoding="utf-8")
    (folder / "002_change.sql").write_text(change, encoding="utf-8")
    if later:
        (folder / "003_later.sql").write_text(later, encoding="utf-8")
    settings = Settings(project_root=folder.parent, database_url=conninfo,
                        target_version=180000)
    return [f for f in commands.lint(settings, [folder]).findings
            if f.location is not None and not f.location.path.endswith("001_schema.sql")]


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

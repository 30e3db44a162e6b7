"""An env.py that puts its own schema on the search path of its connection (Arize Phoenix's
`SET search_path TO phx`, task 418): the statement runs outside every revision, on env.py's
connection, so dbsafe's own sessions, which read the database with its default path, found
none of the revisions' unqualified tables. The capture carries the path env.py set as a
generated `SET search_path TO ...` before each revision; the preflight's row checks ask the
rows under it, and lint weighs a finding by the size of the table of that path.

The project (`tests.migrate.projects`, "own_schema") is async (asyncpg), keeps its tables and
its version table in schema `app`, and names a decoy database in alembic.ini that nothing
listens for: the sandbox points env.py at the database dbsafe was given. Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import Severity
from dbsafe.guard.upgrade import UpgradeOptions
from dbsafe.lint.run import load
from tests.helpers import at_revision
from tests.migrate.projects import write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# (nothing listens on port 1: a connection env.py made there itself would fail the run)
DECOY = "postgresql+asyncpg://phoenix:secret@127.0.0.1:1/phoenix"

# An index built without CONCURRENTLY (DBS101, weighed by the table's size) and a NOT NULL
# one of the database's rows refuses (DBS615), both on `orders`, unqualified.
NOT_NULL = '''"""index and NOT NULL on orders"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.create_index("ix_orders_id_patient", "orders", ["id", "patient_id"])
    op.alter_column("orders", "patient_id", nullable=False)


def downgrade():
    op.alter_column("orders", "patient_id", nullable=True)
    op.drop_index("ix_orders_id_patient", table_name="orders")
'''


# A table of the database no revision made (as a baseline's `create_all` then `alembic stamp`
# leave one): only the database's schema tells lint of it. Its CHECK spares SET NOT NULL the
# scan; no index serves a foreign key on `patient_id`.
SPANS = ("CREATE TABLE app.spans (id bigint PRIMARY KEY, patient_id bigint, trace_rowid bigint, "
         "CONSTRAINT spans_trace_nn CHECK (trace_rowid IS NOT NULL))")

ON_SPANS = '''"""NOT NULL and a foreign key on spans"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.alter_column("spans", "trace_rowid", nullable=False)
    op.create_foreign_key("fk_spans_patient", "spans", "patients", ["patient_id"], ["id"])


def downgrade():
    op.drop_constraint("fk_spans_patient", "spans", type_="foreignkey")
    op.alter_column("spans", "trace_rowid", nullable=True)
'''


def _project(root: Path, revision: str = NOT_NULL, pattern: str = "own_schema") -> Path:
    write_project(root, pattern, ini_url=DECOY)
    (root / "migrations" / "versions" / "0005_not_null.py").write_text(revision)
    return root


def _settings(root: Path, url: str | None = None, **overrides: Any):
    return load_settings(root, {"database-url": url, "cache": False, **overrides}, environ={})


def _options(tmp_path: Path, **overrides: Any) -> UpgradeOptions:
    return UpgradeOptions(**{"backup_dir": tmp_path / "backups", "retry_delay": 0.05,
                             "dry_run": True, **overrides})


def test_the_capture_carries_the_search_path_env_py_set_before_each_revision(
        tmp_path: Path) -> None:
    root = _project(tmp_path / "p")

    loaded = load(_settings(root))

    firsts = [(m.revision, m.statements[0].sql, m.statements[0].generated)
              for m in loaded.migrations]
    assert firsts[:2] == [("0001", 'SET search_path TO "app"', True),
                          ("0002", 'SET search_path TO "app"', True)], firsts


def _at_0004_with_rows(url: str, root: Path) -> None:
    at_revision(url, root / "alembic.ini", "0004")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('orders'), to_regclass('app.orders')::text"
                            ).fetchone() == (None, "app.orders")
        conn.execute("INSERT INTO app.patients VALUES (1, 'Ada')")
        conn.execute("INSERT INTO app.orders VALUES (10, 1), (11, NULL)")


def test_lint_weighs_a_finding_by_the_table_on_the_search_path_env_py_set(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at_0004_with_rows(database_url, root)

    linted = commands.lint(_settings(root, database_url, select=("DBS101",)))

    # DBS101 weighed by app.orders' size (a small table, not analyzed: a warning)
    (index,) = linted.findings
    assert index.severity is Severity.WARNING, index
    assert dict(index.context).get("Table size", "").endswith("unknown rows"), index.context


def test_the_preflight_asks_the_rows_of_the_table_on_the_search_path_env_py_set(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at_0004_with_rows(database_url, root)
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path),
                              lambda step, message: steps.append(f"{step}: {message}"))

    # app.orders' rows refuse the NOT NULL (it said: `relation "orders" does not exist now,
    # so it is made by the plan`, cannot tell)
    assert report.summary["outcome"] == "refused", report.findings
    (refused,) = [f for f in report.findings if f.code == "DBS615"]
    assert refused.subject == "orders.patient_id"
    assert "`orders.patient_id` holds NULLs in 1 row(s)" in refused.message
    assert "preflight: rows: 1 validation(s) of the pending statements asked of the " \
           "database's rows: 1 refused" in steps, steps
    with psycopg.connect(database_url) as conn:  # (a plan: nothing ran)
        assert conn.execute("SELECT version_num FROM app.alembic_version").fetchall() == [
            ("0004",)]


def test_a_check_of_a_table_the_plan_makes_says_so_on_an_empty_database(
        database_url: str, tmp_path: Path) -> None:
    # (task 418: it said "0005 runs UPDATE on orders before it: its rows are not today's"
    # of a table an empty database has not got)
    root = _project(tmp_path / "p", NOT_NULL.replace(
        '    op.create_index("ix_orders_id_patient", "orders", ["id", "patient_id"])\n',
        '    op.execute("UPDATE orders SET patient_id = 1 WHERE patient_id IS NULL")\n'))
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path),
                              lambda step, message: steps.append(f"{step}: {message}"))

    assert not [f for f in report.findings if f.code == "DBS615"], report.findings
    # (task 475: it said "cannot tell (orders: 0005 runs UPDATE on orders before it, and
    # orders does not exist now: the plan makes it)": a table the plan makes is empty, and
    # an UPDATE leaves it so)
    assert [s for s in steps if s.startswith("preflight: rows:")] == [
        "preflight: rows: 0 validation(s) of the pending statements asked of the database's "
        "rows: 0 refused"], steps


def _at_0004_with_spans(url: str, root: Path, rows: int = 0) -> None:
    at_revision(url, root / "alembic.ini", "0004")
    with psycopg.connect(url) as conn:
        conn.execute(SPANS)
        conn.execute("INSERT INTO app.spans SELECT i, NULL, i FROM generate_series(1, %s) i",
                     (rows,))
        conn.execute("ANALYZE app.spans")


@pytest.mark.parametrize("pattern", ["own_schema", "own_schema_offline_path"],
                         ids=["captured", "offline"])
def test_lint_reads_the_database_s_table_on_the_search_path_env_py_set(
        database_url: str, tmp_path: Path, pattern: str) -> None:
    # (task 435: lint read `spans` in public, where the database has none: DBS107 of a
    # column its CHECK proves, and nothing of the foreign key, whose table's indexes it did
    # not know; offline, env.py's `context.execute("SET search_path TO app")` was dropped)
    root = _project(tmp_path / "p", ON_SPANS, pattern)
    _at_0004_with_spans(database_url, root)

    linted = commands.lint(_settings(root, database_url, select=("DBS107", "DBS117")),
                           offline=pattern != "own_schema")

    assert [(f.code, f.subject) for f in linted.findings] == [("DBS117", "spans.patient_id")]


def test_the_plan_sizes_the_table_on_the_search_path_env_py_set_offline(
        database_url: str, tmp_path: Path) -> None:
    # (task 435: `dbsafe plan` shows the SQL offline rendering gives, and sized `spans` as
    # public.spans, which the database has not got: no size)
    root = _project(tmp_path / "p", ON_SPANS, "own_schema_offline_path")
    _at_0004_with_spans(database_url, root, rows=2000)

    report = commands.plan(_settings(root, database_url))

    lines = report.summary["lines"]
    assert isinstance(lines, list)
    at = lines.index("  ALTER TABLE spans ALTER COLUMN trace_rowid SET NOT NULL")
    assert lines[at + 1].startswith("    ACCESS EXCLUSIVE on spans, blocks reads and writes; "), \
        lines
    assert "~2.0k rows" in lines[at + 1], lines

"""`dbsafe lint --database-url` on an alembic project: the pending revisions' statements that
validate rows are asked of the database's rows (DBS615), as `dbsafe upgrade`'s preflight asks.

Before task 509 only `upgrade` said it: a CI job linting the pending revisions against a
staging copy got DBS107 of a `SET NOT NULL` and nothing of the NULLs that would stop
`alembic upgrade` half way. Real PostgreSQL; the database is only read.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Report
from tests.migrate.projects import ALEMBIC_INI, ENV_PY

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# Raises unless called in a READ ONLY transaction: r02's CHECK calls it over every row, so
# a probe passing it asked the rows read-only (a probe run otherwise fails, "not checked").
READ_ONLY_GUARD = """
CREATE FUNCTION asked_read_only(v int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF current_setting('transaction_read_only') <> 'on' THEN
    RAISE EXCEPTION 'asked outside a READ ONLY transaction';
  END IF;
  RETURN true;
END $$
"""

R01 = f'''"""orders"""
from alembic import op

revision = "r01"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE orders (id int PRIMARY KEY, patient_id int)")
    op.execute("""{READ_ONLY_GUARD}""")


def downgrade():
    op.execute("DROP TABLE orders")
'''

R02 = '''"""orders need a patient"""
from alembic import op

revision = "r02"
down_revision = "r01"


def upgrade():
    op.create_check_constraint("orders_asked_read_only", "orders", "asked_read_only(id)")
    op.alter_column("orders", "patient_id", nullable=False)


def downgrade():
    op.alter_column("orders", "patient_id", nullable=True)
    op.drop_constraint("orders_asked_read_only", "orders")
'''

# The line of r02's `op.alter_column` (the SET NOT NULL): DBS615 is said there.
NOT_NULL_LINE = R02.splitlines().index(
    '    op.alter_column("orders", "patient_id", nullable=False)') + 1


def _project(root: Path, r02: str = R02) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url="driver://u:p@localhost/db"))
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])
    (versions / "r01_orders.py").write_text(R01)
    (versions / "r02_patient_required.py").write_text(r02)
    return root


def _at_r01(url: str, rows: str) -> None:
    """The database as r01 leaves it (alembic_version r01), holding `rows`."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, patient_id int)")
        conn.execute(READ_ONLY_GUARD)
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('r01')")
        conn.execute(rows)


def _state(url: str) -> tuple[object, ...]:
    with psycopg.connect(url) as conn:
        return (conn.execute("SELECT * FROM orders ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM alembic_version").fetchall(),
                conn.execute("SELECT conname FROM pg_constraint WHERE conrelid = "
                             "'orders'::regclass ORDER BY 1").fetchall())


def _settings(root: Path, url: str) -> Settings:
    # (DBS107: the SET NOT NULL's lock; DBS115: no lock_timeout; DBS102: the CHECK's scan)
    return Settings(project_root=root, database_url=url, use_cache=False,
                    ignore=("DBS102", "DBS107", "DBS115"))


def _rows_lines(report: Report) -> list[str]:
    return [line for line in report.summary["lines"]  # type: ignore[union-attr]
            if line.startswith("rows:")]


def test_rows_refusing_a_pending_revision_are_dbs615_at_its_op_call(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p")
    _at_r01(database_url, "INSERT INTO orders VALUES (1, 10), (2, NULL), (3, NULL)")
    before = _state(database_url)

    report = commands.lint(_settings(root, database_url))

    (refused,) = [f for f in report.findings if f.code == "DBS615"]
    assert refused.location is not None
    assert (refused.location.path, refused.location.line) == (
        "migrations/versions/r02_patient_required.py", NOT_NULL_LINE)
    assert refused.message.startswith(
        "Revision `r02` would fail on the database's rows: `orders.patient_id` holds NULLs "
        "in 2 row(s)")
    assert "`SELECT * FROM orders WHERE patient_id IS NULL`" in (refused.help or "")
    assert "--allow" not in (refused.help or "")
    # The CHECK calling asked_read_only() over every row passed: asked READ ONLY.
    assert report.summary["lines"][-1] == (  # type: ignore[index]
        "rows: 2 validation(s) of the pending statements asked of the database's rows: "
        "1 refused, 1 passes")
    assert report.fails(_settings(root, database_url).fail_on)
    assert _state(database_url) == before


def test_rows_no_pending_revision_refuses_pass_with_the_count_said(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p")
    _at_r01(database_url, "INSERT INTO orders VALUES (1, 10), (2, 20)")

    report = commands.lint(_settings(root, database_url))

    assert "DBS615" not in {f.code for f in report.findings}
    assert _rows_lines(report) == [
        "rows: 2 validation(s) of the pending statements asked of the database's rows: "
        "0 refused, 2 passes"]


def test_a_suppression_comment_at_the_op_call_reaches_the_rows_refusal(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p", R02.replace(
        '    op.alter_column("orders", "patient_id", nullable=False)',
        '    # dbsafe: ignore[DBS615] the NULL orders are filled by hand before the deploy\n'
        '    op.alter_column("orders", "patient_id", nullable=False)'))
    _at_r01(database_url, "INSERT INTO orders VALUES (1, NULL)")

    report = commands.lint(_settings(root, database_url))

    assert "DBS615" not in {f.code for f in report.findings}
    said, count = _rows_lines(report)
    assert said.endswith(": suppressed by `dbsafe: ignore[DBS615]` at "
                         f"migrations/versions/r02_patient_required.py:{NOT_NULL_LINE}")
    assert count.endswith("1 refused (1 suppressed by a `dbsafe: ignore[DBS615]` comment), "
                          "1 passes")


def test_no_rows_are_asked_offline_or_of_revisions_the_database_holds(
        tmp_path: Path, database_url: str) -> None:
    root = _project(tmp_path / "p")
    _at_r01(database_url, "INSERT INTO orders VALUES (1, NULL)")
    settings = _settings(root, database_url)

    # --since base: r01 is linted too, and what it did is no part of today's rows
    everything = commands.lint(settings, since="base")
    assert "DBS615" not in {f.code for f in everything.findings}
    assert _rows_lines(everything) == [
        "rows: not asked of the database: --since base lints other revisions than the "
        "pending ones; lint asks them (DBS615) of the pending revisions, captured alone "
        "(no --since, --changed-since or --offline)"]

    offline = commands.lint(settings, offline=True)
    assert "DBS615" not in {f.code for f in offline.findings}
    assert [line.split(";")[0] for line in _rows_lines(offline)] == [
        "rows: not asked of the database: they were rendered offline"]

    # At the head nothing is pending: r02's SET NOT NULL ran there already
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'r02'")
    at_head = commands.lint(settings)
    assert "DBS615" not in {f.code for f in at_head.findings}
    assert _rows_lines(at_head) == []



def test_no_rows_are_asked_where_select_or_ignore_leaves_dbs615_out(
        tmp_path: Path, database_url: str) -> None:
    # (they were asked, and each refusal dropped: task 512)
    root = _project(tmp_path / "p")
    _at_r01(database_url, "INSERT INTO orders VALUES (1, NULL)")
    for left_out in ({"ignore": ("DBS1", "DBS615")}, {"select": ("DBS1",)}):
        report = commands.lint(Settings(project_root=root, database_url=database_url,
                                        use_cache=False, **left_out))  # type: ignore[arg-type]
        assert "DBS615" not in {f.code for f in report.findings}
        assert _rows_lines(report) == [
            "rows: not asked of the database: --select/--ignore leaves DBS615 out"], left_out

"""`alembic upgrade` runs every pending revision in one transaction unless env.py sets
`transaction_per_migration=True`: with a database (the pending revisions known), a lock an
earlier pending revision took is held while the later ones run (DBS114, DBS125), as the
capture shows it. Real PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from tests.helpers import at_revision
from tests.lint.test_capture import write_history

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_REVISIONS = {
    "t01": '''
def upgrade():
    op.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
    op.execute("CREATE TABLE orders (id int PRIMARY KEY, user_id int)")
''',
    "t02": '''
def upgrade():
    op.add_column("orders", sa.Column("archived", sa.Boolean))
''',
    "t03": '''
def upgrade():
    op.execute("UPDATE users SET name = 'x' WHERE name IS NULL")
''',
}


def test_pending_revisions_of_one_alembic_transaction_hold_each_other_s_locks(
        tmp_path: Path, database_url: str) -> None:
    # `alembic upgrade head` from t01 sends t02's ALTER and t03's UPDATE in one
    # transaction: a second session's pg_locks shows `orders` ACCESS EXCLUSIVE locked while
    # t03 runs (checked with alembic itself and a pg_sleep in t03, PostgreSQL 18). Lint
    # linted each revision alone: nothing.
    root = tmp_path / "p"
    ini = write_history(root, _REVISIONS)
    at_revision(database_url, ini, "t01")
    with psycopg.connect(database_url, autocommit=True) as runner, \
            psycopg.connect(database_url, autocommit=True) as observer:
        runner.execute("BEGIN")
        runner.execute("ALTER TABLE orders ADD COLUMN archived boolean")
        runner.execute("UPDATE users SET name = 'x' WHERE name IS NULL")
        held = observer.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.granted AND c.relname IN ('orders', 'users') "
            "ORDER BY 1, 2", (runner.info.backend_pid,)).fetchall()
        runner.execute("ROLLBACK")
    assert ("orders", "AccessExclusiveLock") in held

    settings = Settings(project_root=root, database_url=database_url, select=("DBS114",),
                        use_cache=False)
    report = commands.lint(settings)
    [finding] = report.findings
    assert (finding.location.path, dict(finding.context)["Revision"]) == (
        "migrations/versions/t03.py", "t03")
    assert "from `migrations/versions/t02.py:" in finding.message
    assert "an earlier file of the same transaction" in finding.message
    assert "`dbsafe upgrade` commits each revision before the next" in (finding.help or "")
    assert "transaction_per_migration=True" in (finding.help or "")
    assert any(line.startswith("The 2 pending revisions run in one transaction")
               for line in report.summary["lines"])

    # `dbsafe upgrade` applies one revision per alembic command, each committed before the
    # next: its preflight (and `plan`, and `managed-timeouts = true`) holds nothing across.
    assert commands.lint(dataclasses.replace(settings, managed_timeouts=True)).findings == ()

    # env.py committing each revision: nothing held across them, nothing said.
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "context.configure(connection=connection, target_metadata=target_metadata)",
        "context.configure(connection=connection, target_metadata=target_metadata, "
        "transaction_per_migration=True)"))
    report = commands.lint(settings)
    assert report.findings == ()
    assert not any("one transaction" in line for line in report.summary["lines"])


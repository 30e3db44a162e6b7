"""A SQL file named `migrations.sql` is a migration history, not validated.

Liberapay (liberapay/liberapay.com cc5be724e) appends each migration to
`sql/migrations.sql` under a `-- migration #N` header and runs the new ones on deploy;
migration #23 copies `community_subscriptions` into `subscriptions` and then drops it, so
against today's schema its `INSERT ... SELECT` was a false DBS301 (PostgreSQL agreeing,
42P01, on a schema the statement never runs against). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind


@pytest.mark.parametrize("name", ["sql/migrations.sql", "db/Migrations.sql", "migration.sql"])
def test_a_file_named_migrations_is_a_migration(name: str) -> None:
    assert migration_kind(name, b"ALTER TABLE t ADD c int;") == "migration"


@pytest.mark.parametrize("name", ["sql/schema.sql", "sql/migrations_report.sql",
                                  "sql/list-migrations.sql", "sql/migrations.sql.bak"])
def test_other_names_are_application_sql(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") is None


@pytest.mark.db
def test_a_history_file_is_not_validated(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE subscriptions (publisher int, subscriber int)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "migrations.sql").write_text(
        "-- migration #23\n"
        "INSERT INTO subscriptions (publisher, subscriber)\n"
        "     SELECT community, participant FROM community_subscriptions;\n"
        "DROP TABLE community_subscriptions;\n", encoding="utf-8")
    (sql / "queries.sql").write_text("SELECT publisher, ctime FROM subscriptions;\n",
                                     encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "sql/queries.sql")]
    assert report.summary["migration_files"] == 1

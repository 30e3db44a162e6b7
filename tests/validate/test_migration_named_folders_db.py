"""A folder named for the migrations it holds after a word and `-` or `_`
(`elastic_migrations`, `log-db-migrations`) holds migrations: run against the schema of
their own revision, not validated against today's.

Omnivore keeps in `packages/db/elastic_migrations/` the one-off Python scripts that copied
rows between PostgreSQL and Elasticsearch while `omnivore.highlight.elastic_page_id`
existed; its migration 0123 dropped the column, and validating the scripts against today's
schema reported it missing 9 times, on code that never runs again.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind

_SCRIPT = '''import psycopg2


def count(conn, page_id):
    cursor = conn.cursor()
    cursor.execute(
        "SELECT COUNT(*) FROM highlight WHERE elastic_page_id = %s AND deleted = false",
        (page_id,))
    return cursor.fetchone()[0]
'''


@pytest.mark.parametrize("name", [
    "packages/db/elastic_migrations/add_highlight_to_elastic.py",
    "log-db-migrations/add_logs.sql",
    "src/data_migration/backfill.ts",
])
def test_a_folder_named_for_migrations_holds_migrations(name: str) -> None:
    assert migration_kind(name, b"UPDATE highlight SET x = 1;") == "migration"


@pytest.mark.parametrize("name", [
    "src/migrations_test/check.py",  # the word does not end the name
    "src/migrationsx/check.py", "src/my-migrator/check.py",
    "packages/db/elastic_migrations.py",  # a file, not a folder
])
def test_other_folders_hold_application_code(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") is None


@pytest.mark.db
def test_a_script_in_a_folder_named_for_migrations_is_not_validated(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # At its revision the column was there: PostgreSQL prepares the script's query.
        conn.execute("CREATE TABLE highlight (id int, elastic_page_id text, deleted bool)")
        conn.execute("PREPARE then_ AS SELECT COUNT(*) FROM highlight "
                     "WHERE elastic_page_id = $1 AND deleted = false")
        conn.execute("DEALLOCATE then_")
        conn.execute("ALTER TABLE highlight DROP COLUMN elastic_page_id")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("PREPARE now_ AS SELECT COUNT(*) FROM highlight "
                         "WHERE elastic_page_id = $1 AND deleted = false")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    scripts = tmp_path / "packages" / "db" / "elastic_migrations"
    scripts.mkdir(parents=True)
    (scripts / "add_highlight_to_elastic.py").write_text(_SCRIPT, encoding="utf-8")
    (tmp_path / "packages" / "db" / "highlights.py").write_text(_SCRIPT, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})

    report = commands.validate(settings, [tmp_path])

    # The same query in application code is still reported, as PostgreSQL rejects it.
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "packages/db/highlights.py")]
    assert report.summary["code_migration_files"] == 1

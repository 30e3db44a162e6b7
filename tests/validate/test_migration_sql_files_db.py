"""A `.sql` file a Python migration runs is a migration, not application SQL.

Arches' first Django migration runs `migrations.RunSQL(get_sql_string_from_file(
os.path.join(settings.ROOT_DIR, "db", "dml", "db_data.sql")))`: the data of its 2013 layout,
`INSERT INTO d_languages ...`, a table a later migration renamed (a false DBS301 against
today's schema, 42P01 there; the file runs only at that migration). A `.sql` file no
migration names, or one another folder holds, stays checked. Real PostgreSQL.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest

_MIGRATION = '''\
import os

from django.conf import settings
from django.db import migrations


def read(path):
    with open(path) as f:
        return f.read()


class Migration(migrations.Migration):
    operations = [
        migrations.RunSQL(read(os.path.join(settings.ROOT_DIR, "db", "dml", "db_data.sql"))),
    ]
'''


@pytest.mark.db
def test_a_sql_file_a_migration_runs_is_a_migration(database_url: str, tmp_path: Path) -> None:
    from dbsafe import commands
    from dbsafe.config import load_settings

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE languages (code text)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n")
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text(_MIGRATION)
    for folder in ("db/dml", "other/dml"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "db_data.sql").write_text("INSERT INTO d_languages VALUES ('en');\n")
    for path in tmp_path.rglob("*"):  # settled: a cached run trusts what it stored of them
        os.utime(path, (time.time() - 3600,) * 2)
    for cache in (False, True, True):  # the second run with a cache reads it
        settings = load_settings(tmp_path, {"database-url": database_url, "cache": cache},
                                 environ={})
        report = commands.validate(settings, [tmp_path])
        assert [(f.code, f.location.path, f.subject) for f in report.findings if f.location] == [
            ("DBS301", "other/dml/db_data.sql", "public.d_languages")]
        assert [(s.location.path, s.reason) for s in report.skipped
                if s.location.path.startswith("db/")] == [
            ("db/dml/db_data.sql", "not validated: a migration's SQL file runs against the "
                                   "schema of its own revision, not today's (`dbsafe lint` "
                                   "checks migrations)")]

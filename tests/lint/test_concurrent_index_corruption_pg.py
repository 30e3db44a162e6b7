"""DBS135: lint with a database flags concurrent index builds on PostgreSQL 14.0 to 14.3.

No 14.x server can be started here: the version is injected where lint reads it from the
database (`introspect_url`, its `server_version_num`), and everything else is real -- the
database's schema, sizes and revisions, the rules, the report.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.lint.rules.concurrent_index_corruption import RULE
from dbsafe.schema import introspect

pytestmark = pytest.mark.db

MIGRATION = """\
CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);
REINDEX INDEX CONCURRENTLY orders_total_idx;
DROP INDEX CONCURRENTLY orders_total_idx;
"""


def test_concurrent_builds_are_errors_on_the_minor_releases_that_corrupt_them(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, total int)")
        real = conn.info.server_version
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_index.sql").write_text(MIGRATION, encoding="utf-8")
    read = introspect.introspect_url
    found = {}
    for version in (140003, 140004, real):
        monkeypatch.setattr(introspect, "introspect_url", lambda *a, v=version, **k: (
            dataclasses.replace(read(*a, **k), server_version=v)))
        report = commands.lint(Settings(project_root=tmp_path, database_url=database_url),
                               [folder])
        found[version] = [(f.location.line, f.severity.value, f.message.split(" can ")[0])
                          for f in report.findings if f.code == RULE.code]
    assert found[140003] == [(1, "error", "CREATE INDEX CONCURRENTLY on PostgreSQL 14.3"),
                             (2, "error", "REINDEX CONCURRENTLY on PostgreSQL 14.3")]
    assert found[140004] == found[real] == []
    # Without a database, a target version names no minor release: nothing to say.
    offline = commands.lint(Settings(project_root=tmp_path, target_version=140000), [folder])
    assert not [f for f in offline.findings if f.code == RULE.code]

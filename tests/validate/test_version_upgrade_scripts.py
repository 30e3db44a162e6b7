"""A SQL file named by the versions it upgrades between is a migration, not validated.

Koji (koji-project/koji 2083513a) keeps `schemas/schema-upgrade-1.15-1.16.sql` and 40 more
beside its `schema.sql`; each runs once, on a database of the first version, and reads
columns a later upgrade moved away (`host.arches`, `users.krb_principal`): 7 false DBS302
against today's schema. PowerDNS names its own `4.1.0_to_4.2.0_schema.pgsql.sql`.
Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.extract.migration import migration_kind


@pytest.mark.parametrize("name", [
    "schemas/schema-upgrade-1.15-1.16.sql",  # Koji
    "schemas/schema-upgrade-1.9-1.10.sql",
    "modules/gpgsqlbackend/4.1.0_to_4.2.0_schema.pgsql.sql",  # PowerDNS
    "sql/upgrade_2.1_to_3.0.sql",
    "sql/update-v1.2-v1.3.sql",
    "db/migrate_10_to_11.sql",
    "sql/pgq.upgrade_2.1_to_3.0.sql",
])
def test_a_file_named_by_the_versions_it_upgrades_between_is_a_migration(name: str) -> None:
    assert migration_kind(name, b"ALTER TABLE t ADD c int;") == "migration"


@pytest.mark.parametrize("name", [
    "sql/report_2023.sql", "sql/top-10-users.sql", "schemas/schema.sql",
    "sql/v1.2.sql",  # one version: the schema of that version, or anything
    "sql/stats_1.2-1.3.sql",  # two versions, nothing saying an upgrade
    "sql/update_users.sql", "sql/upgrade-plan-10-20.sql",  # no dotted versions, no `to`
])
def test_other_names_are_application_sql(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") is None


@pytest.mark.db
def test_a_version_upgrade_script_is_not_validated(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE host (id int, name text)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    upgrade = "INSERT INTO host_config (host_id, arches) SELECT id, arches FROM host;\n"
    (schemas / "schema-upgrade-1.15-1.16.sql").write_text(upgrade, encoding="utf-8")
    (schemas / "queries.sql").write_text("SELECT arches FROM host;\n", encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "schemas/queries.sql")]
    assert report.summary["migration_files"] == 1


# Software Heritage (SoftwareHeritage/swh-storage 6372b225) keeps 171 upgrade steps as
# `swh/storage/sql/upgrades/015.sql` ... `185.sql` (`-- from_version: 184`, each run once by
# `swh db upgrade`): 015.sql reads the types `directory_list_dir`, 024.sql the table
# `organization`, gone today (6 false DBS301, PostgreSQL's 42P01); Trac's are
# `trac/upgrades/db45.py`. A file named by a number in a folder of upgrades is a migration.
# So is one named by a release in a folder of upgrades or schema changes: NAV (Uninett/nav
# 3827cf790a) applies `sql/changes/sc.<major>.<minor>.<point>.sql` in version order with its
# `navsyncdb`, and keeps its 3.x upgrades in `sql/historic-upgrades/`; read as the
# application's SQL they were 9 errors on tables dropped since (`rrd_datasource`, 42P01).
@pytest.mark.parametrize("name", [
    "swh/storage/sql/upgrades/015.sql", "swh/storage/proxies/masking/sql/upgrades/193.sql",
    "trac/upgrades/db45.py", "db/upgrade/v3.sql",
    "python/nav/models/sql/changes/sc.03.12.0107.sql",
    "python/nav/models/sql/historic-upgrades/3.5.0b2-hpfix.sql",
    "python/nav/models/sql/historic-upgrades/3.0_beta10.sql", "db/schema_changes/2.1.sql",
])
def test_a_numbered_step_in_a_folder_of_upgrades_is_a_migration(name: str) -> None:
    assert migration_kind(name, b"insert into dbversion values (15, now());") == "migration"


@pytest.mark.parametrize("name", [
    "billing/upgrades/views.py", "billing/upgrades/plans.sql", "sql/015.sql",
    "upgrades/__init__.py", "upgrades/2fa.sql",
    "changes/notes.sql", "sql/exchanges/1.2.sql", "changes/2.1.py",
    "tests/01_users.sql",  # numbered in order, in no folder of changes: pgTAP's tests
])
def test_other_files_of_a_folder_of_upgrades_are_application_code(name: str) -> None:
    assert migration_kind(name, b"SELECT 1;") is None


@pytest.mark.db
def test_a_numbered_upgrade_step_is_not_validated(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE dbversion (version int, release timestamptz)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    upgrades = tmp_path / "sql" / "upgrades"
    upgrades.mkdir(parents=True)
    (upgrades / "024.sql").write_text(
        "insert into dbversion (version, release) values (24, now());\n"
        "insert into organization (name) values ('softwareheritage');\n", encoding="utf-8")
    (upgrades / "report.sql").write_text("SELECT name FROM organization;\n", encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS301", "sql/upgrades/report.sql")]
    assert report.summary["migration_files"] == 1


# A folder of release-named reports is no folder of upgrades: `reports/changes/2.1.sql`
# holding `SELECT`s from tables was taken for an upgrade step, so what its queries read was
# never checked. An upgrade step changes the schema or its rows (each of NAV's 216 and
# Software Heritage's 182 does); one that only reads is the application's SQL.
@pytest.mark.parametrize("sql", [
    b"SELECT id, total FROM orders WHERE placed > now() - interval '1 day';",
    b"WITH recent AS (SELECT 1 AS n) SELECT n FROM recent; SELECT 1 FROM a UNION SELECT 2 FROM b;",
])
def test_a_release_named_file_of_queries_in_a_folder_of_changes_is_application_sql(
        sql: bytes) -> None:
    for name in ("reports/changes/2.1.sql", "sql/upgrades/015.sql",
                 "python/nav/models/sql/changes/sc.03.12.0107.sql"):
        assert migration_kind(name, sql) is None, name


@pytest.mark.parametrize("sql", [
    b"ALTER TABLE netbox ADD COLUMN data jsonb;",
    b"UPDATE alerttype SET alerttype = 'linkDegraded' WHERE alerttype = 'linkDown';",
    b"SELECT setval('netbox_netboxid_seq', 10);",  # a function doing its work
    b"SELECT * INTO old_netbox FROM netbox;",  # creates a table
    b"WITH gone AS (DELETE FROM alerthist RETURNING id) SELECT count(*) FROM gone;",
    b"\\set ON_ERROR_STOP on\nSELECT id FROM netbox;",  # psql's: not read
    b"",
])
def test_a_release_named_file_changing_anything_stays_an_upgrade_step(sql: bytes) -> None:
    assert migration_kind("python/nav/models/sql/changes/sc.05.19.0001.sql", sql) == "migration"


@pytest.mark.db
def test_the_queries_of_a_folder_of_release_named_reports_are_validated(
        database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int, total numeric)")
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    changes = tmp_path / "reports" / "changes"
    changes.mkdir(parents=True)
    (changes / "2.1.sql").write_text("SELECT id, totl FROM orders;\n", encoding="utf-8")
    # an upgrade step beside it stays one (what it makes is there for the reports: not
    # `orders`, whose columns stay checked)
    (changes / "2.2.sql").write_text("CREATE TABLE audit (id int);\n"
                                     "SELECT nosuch FROM audit;\n", encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.code, f.location.path) for f in report.findings if f.location] == [
        ("DBS302", "reports/changes/2.1.sql")]
    assert report.summary["migration_files"] == 1

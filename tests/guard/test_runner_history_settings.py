"""What `backup`, `restore`, `backups` and `status` say of a database migrated by a folder of
SQL migrations, when its runner keeps its history where its own settings say (task 526):
Flyway's `flyway.toml`, a Sqitch target's registry, goose's `GOOSE_TABLE`, dbmate's
`DBMATE_MIGRATIONS_TABLE` in `.env`. Before, each was read only when dbsafe's own
`sql-migrations-history-table` named it: a backup said `at base` of a database at 2. And the
command that mends a failed run, for each runner that keeps such a state."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings

FLYWAY_TABLE = """
CREATE TABLE {table} (
    installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
    type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int,
    installed_by varchar(100) NOT NULL DEFAULT 'app', installed_on timestamp DEFAULT now(),
    execution_time int NOT NULL DEFAULT 1, success boolean NOT NULL);
"""


def _flyway_rows(table: str, *rows: tuple[int, str, bool]) -> str:
    return FLYWAY_TABLE.format(table=table) + "".join(
        f"INSERT INTO {table} (installed_rank, version, description, type, script, success) "
        f"VALUES ({rank}, '{version}', 'm{version}', 'SQL', 'V{version}__m.sql', {success});"
        for rank, version, success in rows)


def _settings(url: str, root: Path, folder: Path):
    return load_settings(root, {"database-url": url, "sql-migrations": str(folder)}, environ={})


def _dbname(url: str) -> str:
    return url.rsplit("dbname=", 1)[1].split("&")[0]


def _position(settings, tmp_path: Path) -> object:
    """Where the manifest of a backup of the settings' database says it is."""
    taken = commands.backup(settings, tmp_path / "backups").summary
    return json.loads(Path(f"{taken['backup']}.manifest.json").read_text()).get("history")


def test_a_flyway_table_renamed_in_flyway_toml_is_what_the_backup_says(
        database_url: str, tmp_path: Path) -> None:
    # `flyway migrate` with this flyway.toml keeps its history in app.deploy_history; the
    # backup said `at base` (it looked for public.flyway_schema_history only).
    (tmp_path / "flyway.toml").write_text(
        '[flyway]\ndefaultSchema = "app"\ntable = "deploy_history"\n')
    folder = tmp_path / "sql"
    folder.mkdir()
    for name in ("V1__users.sql", "V2__orders.sql"):
        (folder / name).write_text("SELECT 1;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute(_flyway_rows("app.deploy_history", (1, "1", True), (2, "2", True)))
    settings = _settings(database_url, tmp_path, folder)
    steps: list[str] = []
    taken = commands.backup(settings, tmp_path / "b",
                            progress=lambda step, text: steps.append(text)).summary
    assert steps[-1].endswith(
        "at 2 (flyway's app.deploy_history, named by flyway.toml)"), steps
    manifest = json.loads(Path(f"{taken['backup']}.manifest.json").read_text())
    assert manifest["history"] == {
        "runner": "flyway", "table": "app.deploy_history", "version": "2", "applied": 2,
        "failed": False, "told_by": "flyway.toml"}
    copy = f"{_dbname(database_url)}_copy"
    try:
        restored = commands.restore(settings, Path(str(taken["backup"])), into=copy)
        assert restored.summary["lines"][0] == (
            f"restored into {copy} at 2 (flyway's app.deploy_history, named by flyway.toml)")
    finally:
        with psycopg.connect(database_url.replace(
                f"dbname={_dbname(database_url)}", "dbname=postgres"),
                autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')

def test_a_sqitch_registry_its_target_names_is_read(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "sqitch.conf").write_text(
        '[core]\n\tengine = pg\n\ttarget = prod\n[target "prod"]\n'
        '\turi = db:pg://deploy@db.example/shop\n\tregistry = shop_registry\n')
    (tmp_path / "sqitch.plan").write_text(
        "%syntax-version=1.0.0\n%project=shop\n\n"
        "users 2024-01-01T00:00:00Z Ann <ann@example.com> # users\n"
        "orders 2024-01-02T00:00:00Z Ann <ann@example.com> # orders\n")
    (tmp_path / "deploy").mkdir()
    for name in ("users", "orders"):
        (tmp_path / "deploy" / f"{name}.sql").write_text("SELECT 1;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop_registry; CREATE TABLE shop_registry.changes ("
                     "change_id text PRIMARY KEY, project text, change text, "
                     "committed_at timestamptz); INSERT INTO shop_registry.changes VALUES "
                     "('a', 'shop', 'users', '2024-01-01'), ('b', 'shop', 'orders', '2024-01-02')")
    assert _position(_settings(database_url, tmp_path, tmp_path / "deploy"), tmp_path) == {
        "runner": "sqitch", "table": "shop_registry.changes", "version": "shop:orders",
        "applied": 2, "failed": False,
        "told_by": "sqitch.conf's [target \"prod\"] registry"}


GOOSE_TABLE = """
CREATE TABLE {table} (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
                      version_id bigint NOT NULL, is_applied boolean NOT NULL,
                      tstamp timestamp NOT NULL DEFAULT now());
INSERT INTO {table} (version_id, is_applied) VALUES (0, true), (1, true), (2, true);
"""


def test_goose_s_table_named_by_goose_table_is_read_by_backup_and_status(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # goose's command line: `-table`, else GOOSE_TABLE (from the environment, or the .env it
    # loads from the folder it runs in), else goose_db_version.
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in ("00001_users.sql", "00002_orders.sql"):
        (folder / name).write_text("-- +goose Up\nSELECT 1;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ops")
        conn.execute(GOOSE_TABLE.format(table="ops.app_versions"))
    settings = _settings(database_url, tmp_path, folder)
    monkeypatch.setenv("GOOSE_TABLE", "ops.app_versions")
    assert _position(settings, tmp_path) == {
        "runner": "goose", "table": "ops.app_versions", "version": "2", "applied": 2,
        "failed": False, "told_by": "GOOSE_TABLE"}
    report = commands.status(settings)
    assert report.summary["pending"] == []
    assert "by goose's ops.app_versions (named by GOOSE_TABLE)" in "\n".join(
        report.summary["lines"]), report.summary["lines"]


def test_dbmate_s_table_named_in_dotenv_is_read(database_url: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # dbmate loads .env (`--env-file` names another), then reads --migrations-table or
    # DBMATE_MIGRATIONS_TABLE; a variable the environment has wins over the file's.
    monkeypatch.delenv("DBMATE_MIGRATIONS_TABLE", raising=False)
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name in ("20240101000000_users.sql", "20240201000000_orders.sql"):
        (folder / name).write_text("-- migrate:up\nSELECT 1;\n\n-- migrate:down\n")
    (tmp_path / ".env").write_text(
        'DATABASE_URL="postgres://x@db/app"\nexport DBMATE_MIGRATIONS_TABLE=dbmate_runs\n')
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE dbmate_runs (version varchar(128) PRIMARY KEY); "
                     "INSERT INTO dbmate_runs VALUES ('20240101000000')")
    assert _position(_settings(database_url, tmp_path, folder), tmp_path) == {
        "runner": "dbmate", "table": "public.dbmate_runs", "version": "20240101000000",
        "applied": 1, "failed": False, "told_by": ".env's DBMATE_MIGRATIONS_TABLE"}


def test_a_failed_flyway_row_is_said_with_flyway_repair(database_url: str,
                                                         tmp_path: Path) -> None:
    # A migration Flyway ran outside a transaction (CREATE INDEX CONCURRENTLY) failed: its
    # row says `success = false`, and `flyway migrate` refuses to go on until `flyway
    # repair` removes it. The backup said `at 1`, as if nothing had failed.
    folder = tmp_path / "sql"
    folder.mkdir()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_flyway_rows("flyway_schema_history", (1, "1", True), (2, "2", False)))
    assert _position(_settings(database_url, tmp_path, folder), tmp_path) == {
        "runner": "flyway", "table": "public.flyway_schema_history", "version": "2",
        "applied": 2, "failed": True,
        "mend": "`flyway repair` removes the failed row once what it did is undone or finished"}


def test_a_dirty_golang_migrate_history_is_said_with_the_version_to_force(
        database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "48_add_stripe_account.up.sql").write_text("ALTER TABLE t ADD COLUMN a int;\n")
    (folder / "49_add_unique_idx_txn_id.up.sql").write_text("CREATE UNIQUE INDEX ON t (a);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, "
                     "dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (49, true)")
    settings = _settings(database_url, tmp_path, folder)
    steps: list[str] = []
    commands.backup(settings, tmp_path / "b", progress=lambda step, text: steps.append(text))
    assert steps[-1].endswith(
        "at 49, failed half-way (golang-migrate's public.schema_migrations): `migrate force "
        "48` mends it: 49_add_unique_idx_txn_id.up.sql rolled back whole"), steps

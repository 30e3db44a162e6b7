"""`sql-migrations-in-transaction = "all"`: a runner that applies every pending SQL file in one
transaction (Boundary's, node-pg-migrate's `--single-transaction`, Flyway's `group`), so a
lock one file takes is held while the next ones run (DBS114, DBS125). Checked against
pg_locks in tests/lint/test_sql_history_pg.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.core import ConfigError


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "db"
    folder.mkdir()
    for name, sql in files.items():
        (folder / name).write_text(sql)
    return folder


def _flagged(settings: Settings, paths: list[Path]) -> list[tuple[str, str, int, str, str]]:
    return [(f.code, f.location.path, f.location.line, f.message, f.help or "")
            for f in commands.lint(settings, paths).findings if f.location is not None]


@pytest.mark.parametrize(("first", "then", "code", "mode"), [
    ("ALTER TABLE orders ADD COLUMN archived boolean;\n",
     "UPDATE customers SET tier = 'basic' WHERE tier IS NULL;\n", "DBS114", "ACCESS EXCLUSIVE"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id)\n"
     "    REFERENCES customers (id) NOT VALID;\n",
     "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;\n", "DBS125",
     "SHARE ROW EXCLUSIVE"),
])
def test_a_lock_an_earlier_file_of_one_transaction_took_is_held_while_the_next_runs(
        tmp_path: Path, first: str, then: str, code: str, mode: str) -> None:
    folder = _folder(tmp_path, {"1_lock.sql": first, "2_work.sql": then})
    each = Settings(project_root=tmp_path, select=(code,), sql_migrations_in_transaction=True)
    assert _flagged(each, [folder]) == []  # each file commits: the lock is gone
    shared = Settings(project_root=tmp_path, select=(code,), sql_migrations_in_transaction="all")
    [(found, path, line, message, help_)] = _flagged(shared, [folder])
    assert (found, path, line) == (code, "db/2_work.sql", 1)
    assert f"still {mode} locked from `db/1_lock.sql:1`, an earlier file of the same " \
           "transaction;" in message
    assert help_ == ("Apply the migrations up to `db/1_lock.sql` in a run of their own (the "
                     "runner commits once per run), or move this statement to a later one.")


def test_one_finding_per_file_each_naming_the_statement_that_took_the_lock(
        tmp_path: Path) -> None:
    folder = _folder(tmp_path, {
        "1_lock.sql": "ALTER TABLE orders ADD COLUMN archived boolean;\n",
        "2_work.sql": "UPDATE customers SET tier = 'a';\nUPDATE customers SET tier = 'b';\n",
        "3_more.sql": "-- another file, still in the transaction\n"
                      "CREATE INDEX ix_customers_tier ON customers (tier);\n"})
    settings = Settings(project_root=tmp_path, select=("DBS114",),
                        sql_migrations_in_transaction="all")
    assert [(path, line, "`db/1_lock.sql:1`" in message)
            for _, path, line, message, _ in _flagged(settings, [folder])] == [
        ("db/2_work.sql", 1, True), ("db/3_more.sql", 2, True)]


def test_what_the_transaction_created_or_committed_holds_nobody_in_the_next_file(
        tmp_path: Path) -> None:
    # A table an earlier pending file created is seen by nobody before COMMIT; a file that
    # commits the transaction itself leaves nothing locked for the next one.
    folder = _folder(tmp_path, {
        "1_new.sql": "CREATE TABLE invoices (id int, total int);\n",
        "2_lock_new.sql": "ALTER TABLE invoices ADD COLUMN paid boolean;\n",
        "3_work.sql": "UPDATE customers SET tier = 'a';\n",
        "4_lock_and_commit.sql": "ALTER TABLE orders ADD COLUMN archived boolean;\nCOMMIT;\n",
        "5_work.sql": "UPDATE customers SET tier = 'b';\n"})
    settings = Settings(project_root=tmp_path, select=("DBS114",),
                        sql_migrations_in_transaction="all")
    assert _flagged(settings, [folder]) == []
    # Linted on its own (the files before it ran long ago), 2_lock_new's table exists.
    assert [(code, path) for code, path, *_ in _flagged(
        settings, [folder / "2_lock_new.sql", folder / "3_work.sql"])] == [
        ("DBS114", "db/3_work.sql")]


def test_the_setting_takes_all_as_well_as_true_or_false(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dbsafe]\nsql-migrations-in-transaction = "all"\n')
    assert load_settings(tmp_path, environ={}).sql_migrations_in_transaction == "all"
    for given, read in (("ALL", "all"), (True, True), ("false", False)):
        assert load_settings(tmp_path, {"sql-migrations-in-transaction": given},
                             environ={}).sql_migrations_in_transaction == read
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dbsafe]\nsql-migrations-in-transaction = "each"\n')
    with pytest.raises(ConfigError, match=r"'sql-migrations-in-transaction' must be true, "
                                          r"false or \"all\", got 'each'"):
        load_settings(tmp_path, environ={})


def test_locks_say_the_files_run_in_one_transaction(tmp_path: Path) -> None:
    from dbsafe.lint.locks import lock_table, render_locks_text

    folder = _folder(tmp_path, {"1_lock.sql": "ALTER TABLE orders ADD COLUMN a int;\n",
                                "2_work.sql": "UPDATE customers SET tier = 'a';\n"})
    settings = Settings(project_root=tmp_path, sql_migrations_in_transaction="all")
    rows = commands.lock_report(settings, [folder])
    assert render_locks_text(rows).endswith(
        '\n\n2 file(s) above run in one transaction (`sql-migrations-in-transaction = "all"`): '
        "each of their locks is held until the last of them commits.\n")
    assert {row["one_transaction"] for row in lock_table(rows)} == {True}
    each = commands.lock_report(Settings(project_root=tmp_path,
                                         sql_migrations_in_transaction=True), [folder])
    assert "one transaction" not in render_locks_text(each)
    assert {row["one_transaction"] for row in lock_table(each)} == {False}


_NODE_PG_LOCK = ("-- Up Migration\nALTER TABLE orders ADD COLUMN archived boolean;\n"
                 "-- Down Migration\nALTER TABLE orders DROP COLUMN archived;\n")
_NODE_PG_WORK = "-- Up Migration\nUPDATE users SET name = 'x' WHERE name IS NULL;\n-- Down Migration\n"


def _node_pg_migrate_project(tmp_path: Path, *, runner: bool = True) -> Path:
    if runner:
        (tmp_path / "package.json").write_text(
            '{"name": "app", "dependencies": {"node-pg-migrate": "^9.0.0", "pg": "^8"}}')
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1700000000000_lock.sql").write_text(_NODE_PG_LOCK)
    (folder / "1700000000001_work.sql").write_text(_NODE_PG_WORK)
    return folder


def test_a_node_pg_migrate_folder_is_linted_as_its_up_runs_it_in_one_transaction(
        tmp_path: Path) -> None:
    # node-pg-migrate 9.0.0's `up` sends BEGIN, every pending file's up section, COMMIT
    # (`--single-transaction`, on unless told `--no-single-transaction`): with PostgreSQL 18,
    # a second session's pg_locks showed `orders` ACCESS EXCLUSIVE locked by its backend
    # while the second file's UPDATE ran, and not with `--no-single-transaction`. Untold,
    # lint linted each file alone: nothing.
    folder = _node_pg_migrate_project(tmp_path)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS114",)), [folder])
    [(code, path, line, message)] = [(f.code, f.location.path, f.location.line, f.message)
                                     for f in report.findings if f.location is not None]
    assert (code, path, line) == ("DBS114", "migrations/1700000000001_work.sql", 2)
    assert "from `migrations/1700000000000_lock.sql:2`, an earlier file of the same " \
           "transaction" in message
    assert ("2 pending file(s) linted as applied in one transaction (node-pg-migrate's "
            "`--single-transaction`, its default): the locks of each are held while the next "
            "run; set `sql-migrations-in-transaction = true` if they run one transaction "
            "each") in report.summary["lines"]
    # Told otherwise (`up --no-single-transaction`: true), the project's word wins.
    for told in (True, False):
        settings = Settings(project_root=tmp_path, select=("DBS114",),
                            sql_migrations_in_transaction=told)
        report = commands.lint(settings, [folder])
        assert report.findings == () and not any(
            "one transaction" in line for line in report.summary.get("lines", ()))


def test_a_folder_of_no_node_pg_migrate_project_is_not_linted_as_one_transaction(
        tmp_path: Path) -> None:
    # The same files with no package.json depending on node-pg-migrate: each its own.
    folder = _node_pg_migrate_project(tmp_path, runner=False)
    assert commands.lint(Settings(project_root=tmp_path, select=("DBS114",)),
                         [folder]).findings == ()


@pytest.mark.parametrize(("config", "said"), [
    ("flyway.conf", "flyway.group=true\n"), ("flyway.toml", "[flyway]\ngroup = true\n")])
def test_flyway_told_to_group_pending_migrations_is_linted_as_one_transaction(
        tmp_path: Path, config: str, said: str) -> None:
    folder = _folder(tmp_path, {"V1__lock.sql": "ALTER TABLE orders ADD COLUMN a int;\n",
                                "V2__work.sql": "UPDATE users SET name = 'x';\n"})
    settings = Settings(project_root=tmp_path, select=("DBS114",))
    assert _flagged(settings, [folder]) == []  # Flyway's default: each its own transaction
    (tmp_path / config).write_text(said)
    [(code, path, line, message, _)] = _flagged(settings, [folder])
    assert (code, path, line) == ("DBS114", "db/V2__work.sql", 1)
    assert "from `db/V1__lock.sql:1`, an earlier file of the same transaction" in message
    rows = commands.lock_report(Settings(project_root=tmp_path), [folder])
    from dbsafe.lint.locks import lock_table, render_locks_text

    assert render_locks_text(rows).endswith(
        f"\n\n2 file(s) above run in one transaction (Flyway's `group = true` ({config})): "
        "each of their locks is held until the last of them commits.\n")
    assert {row.get("one_transaction_by") for row in lock_table(rows)} == {
        f"Flyway's `group = true` ({config})"}
    # `true` given: the project says each runs in its own.
    assert _flagged(Settings(project_root=tmp_path, select=("DBS114",),
                             sql_migrations_in_transaction=True), [folder]) == []


def test_flyway_group_from_its_environment_and_one_flyway_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbsafe.core import SourceError

    folder = _folder(tmp_path, {"V1__lock.sql": "ALTER TABLE orders ADD COLUMN a int;\n",
                                "V2__work.sql": "UPDATE users SET name = 'x';\n"})
    settings = Settings(project_root=tmp_path, select=("DBS114",))
    (tmp_path / "flyway.conf").write_text("flyway.group=true\n")
    monkeypatch.setenv("FLYWAY_GROUP", "false")  # over the file's, as Flyway reads them
    assert _flagged(settings, [folder]) == []
    (tmp_path / "flyway.conf").write_text("flyway.group=yes\n")
    monkeypatch.delenv("FLYWAY_GROUP")
    with pytest.raises(SourceError, match=r"Invalid value for group \(should be either true "
                                          r"or false\): yes"):
        commands.lint(settings, [folder])


def test_the_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    env = "DBSAFE_SQL_MIGRATIONS_IN_TRANSACTION"
    assert load_settings(tmp_path, environ={}).sql_migrations_in_transaction is None
    for given, read in (("all", "all"), ("true", True), ("false", False)):
        assert load_settings(tmp_path, environ={env: given}
                             ).sql_migrations_in_transaction == read
    # the option over the environment, the environment over the file
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\nsql-migrations-in-transaction = true\n")
    assert load_settings(tmp_path, environ={env: "all"}).sql_migrations_in_transaction == "all"
    with pytest.raises(ConfigError, match=rf"^environment variable {env}: "
                                          r"'sql-migrations-in-transaction' must be true, false "
                                          r"or \"all\", got 'each'$"):
        load_settings(tmp_path, environ={env: "each"})


def test_a_bad_value_in_the_environment_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.helpers import dbsafe_in_process

    folder = _folder(tmp_path, {"1.sql": "SELECT 1;\n"})
    result = dbsafe_in_process("lint", str(folder), cwd=tmp_path,
                               env={"DBSAFE_SQL_MIGRATIONS_IN_TRANSACTION": "each"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dbsafe: error: environment variable DBSAFE_SQL_MIGRATIONS_IN_TRANSACTION: "
        "'sql-migrations-in-transaction' must be true, false or \"all\", got 'each'"]

"""`dbsafe lint FOLDER --database-url`: the pending files' statements that validate rows are
asked of the database's rows (DBS615), as `dbsafe upgrade`'s preflight asks of revisions.

ente's museum (golang-migrate, 124 files) at its 48th: 49 builds a unique index over
`subscriptions.original_transaction_id`, which 300 pairs of rows refused; lint said only
DBS101/DBS115, and `migrate up` stopped at 49, its history dirty (task 497). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import DbsafeError

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

FILES = {
    "1_subscriptions": "CREATE TABLE subscriptions (id int PRIMARY KEY, txn text, plan text);",
    "2_txn_unique": "CREATE UNIQUE INDEX sub_txn ON subscriptions (txn) WHERE txn <> 'none';",
    "3_plan_not_null": "ALTER TABLE subscriptions ALTER COLUMN plan SET NOT NULL;",
}


def _at_first_file(tmp_path: Path, database_url: str, rows: str) -> Path:
    """db/migrations holding FILES (golang-migrate's pairs), the database at 1 as golang-migrate
    leaves it, holding `rows`."""
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name, sql in FILES.items():
        (folder / f"{name}.up.sql").write_text(sql + "\n")
        (folder / f"{name}.down.sql").write_text("SELECT 1;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, "
                     "dirty boolean NOT NULL)")
        conn.execute(FILES["1_subscriptions"])
        conn.execute("INSERT INTO schema_migrations VALUES (1, false)")
        conn.execute(rows)
    return folder


def test_rows_refusing_a_pending_file_are_dbs615_at_its_statement(
        tmp_path: Path, database_url: str) -> None:
    folder = _at_first_file(
        tmp_path, database_url,
        "INSERT INTO subscriptions SELECT g, CASE WHEN g <= 4 THEN 'dup' WHEN g <= 6 THEN "
        "'none' ELSE 't' || g END, 'free' FROM generate_series(1, 50) g")
    settings = Settings(project_root=tmp_path, database_url=database_url)
    report = commands.lint(settings, [folder])
    refused = [f for f in report.findings if f.code == "DBS615"]
    assert [(f.location.path, f.location.line) for f in refused if f.location] == [
        ("db/migrations/2_txn_unique.up.sql", 1)]
    assert refused[0].message.startswith(
        "Migration `db/migrations/2_txn_unique.up.sql` would fail on the database's rows: "
        "`subscriptions (txn)` has duplicate unique index values, e.g. key (dup)")
    assert "--allow" not in (refused[0].help or "")
    assert "GROUP BY txn HAVING count(*) > 1" in (refused[0].help or "")
    assert report.summary["lines"][-1] == (  # type: ignore[index]
        "rows: 2 validation(s) of the pending statements asked of the database's rows: "
        "1 refused, 1 passes")


def test_rows_no_pending_file_refuses_pass_with_the_count_said(
        tmp_path: Path, database_url: str) -> None:
    folder = _at_first_file(
        tmp_path, database_url,
        "INSERT INTO subscriptions SELECT g, 't' || g, 'free' FROM generate_series(1, 50) g")
    settings = Settings(project_root=tmp_path, database_url=database_url)
    report = commands.lint(settings, [folder])
    assert not [f for f in report.findings if f.code.startswith("DBS6")]
    assert report.summary["lines"][-1] == (  # type: ignore[index]
        "rows: 2 validation(s) of the pending statements asked of the database's rows: "
        "0 refused, 2 passes")


def test_a_refusal_ignored_by_code_is_not_reported(tmp_path: Path, database_url: str) -> None:
    folder = _at_first_file(
        tmp_path, database_url,
        "INSERT INTO subscriptions SELECT g, 't' || g, NULL FROM generate_series(1, 50) g")
    settings = Settings(project_root=tmp_path, database_url=database_url)
    assert [f.subject for f in commands.lint(settings, [folder]).findings
            if f.code == "DBS615"] == ["subscriptions.plan"]
    ignored = Settings(project_root=tmp_path, database_url=database_url, ignore=("DBS615",))
    report = commands.lint(ignored, [folder])
    assert not [f for f in report.findings if f.code == "DBS615"]
    # ... nor asked: they were, each refusal then dropped (task 512)
    assert [line for line in report.summary["lines"]  # type: ignore[union-attr]
            if line.startswith("rows:")] == [
        "rows: not asked of the database: --select/--ignore leaves DBS615 out"]


# A `-- dbsafe: ignore[DBS615]` above the statement reached nothing: DBS615 was added after
# lint applied the suppressions (task 500). Now it is suppressed there, said on its rows line,
# and the comment is no unused suppression (DBS002).
def test_a_suppression_comment_at_the_statement_reaches_the_rows_refusal(
        tmp_path: Path, database_url: str) -> None:
    folder = _at_first_file(
        tmp_path, database_url,
        "INSERT INTO subscriptions SELECT g, 't' || g, NULL FROM generate_series(1, 50) g")
    (folder / "3_plan_not_null.up.sql").write_text(
        "-- dbsafe: ignore[DBS615] the plans are set by hand before the deploy\n"
        + FILES["3_plan_not_null"] + "\n")
    settings = Settings(project_root=tmp_path, database_url=database_url)
    report = commands.lint(settings, [folder])
    assert not [f for f in report.findings if f.code in ("DBS615", "DBS002")], report.findings
    lines = report.summary["lines"]
    assert "rows: db/migrations/3_plan_not_null.up.sql: ALTER TABLE subscriptions ALTER COLUMN " \
        "plan SET NOT NULL: refused (subscriptions.plan: holds NULLs in 50 row(s)): suppressed " \
        "by `dbsafe: ignore[DBS615]` at db/migrations/3_plan_not_null.up.sql:1" in lines
    assert lines[-1] == (  # type: ignore[index]
        "rows: 2 validation(s) of the pending statements asked of the database's rows: "
        "1 refused (1 suppressed by a `dbsafe: ignore[DBS615]` comment), 1 passes")


# golang-migrate stopped at a file, its history dirty: status and lint said "fix it and
# `migrate force` the version first", naming none (task 497: 49 of ente's museum, whose
# failed unique index rolled back with the whole file, leaving the database at 48). Now the
# version is named where the file tells it, and how it was told (task 500).
def test_a_dirty_history_names_the_version_to_force_and_how_it_was_told(
        tmp_path: Path, database_url: str) -> None:
    folder = _at_first_file(tmp_path, database_url, "SELECT 1")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET version = 2, dirty = true")
    settings = Settings(project_root=tmp_path, database_url=database_url, sql_migrations=folder)
    for command in (commands.status, lambda s: commands.lint(s, [folder])):
        with pytest.raises(DbsafeError) as raised:
            command(settings)
        assert str(raised.value).endswith(
            "says 2 failed half-way there (or is running), so what it holds is no version of "
            "the folder; its `dirty` flag says so: 2_txn_unique.up.sql rolled back whole, so "
            "the database is at 1; `migrate force 1`, then fix what failed and `migrate up` "
            "again (told by the file: no statement of it controls the transaction or runs "
            "outside one, and golang-migrate sends a file as one query, which PostgreSQL runs "
            "as one transaction, unless the URL sets x-multi-statement)"), raised.value

    # A file that commits part of itself, or runs outside a transaction: the DBA's to tell
    (folder / "3_plan_not_null.up.sql").write_text(
        "UPDATE subscriptions SET plan = 'free' WHERE plan IS NULL;\nCOMMIT;\n"
        + FILES["3_plan_not_null"] + "\n")
    (folder / "1_subscriptions.up.sql").write_text(
        "CREATE TABLE subscriptions (id int PRIMARY KEY, txn text, plan text);\n"
        "CREATE INDEX CONCURRENTLY sub_plan ON subscriptions (plan);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET version = 3")
    with pytest.raises(DbsafeError, match=r"its `dirty` flag says so, and 3_plan_not_null.up.sql "
                       r"controls its own transaction \(`COMMIT` at line 2\), so what of it "
                       r"stayed cannot be told from the file: `migrate force 3` once you "
                       r"finished it by hand, or `migrate force 2` once you undid it$"):
        commands.status(settings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET version = 1")
    with pytest.raises(DbsafeError, match=r"and 1_subscriptions.up.sql runs a statement outside "
                       r"any transaction \(line 2: `CREATE INDEX CONCURRENTLY sub_plan \.\.\.`\).*"
                       r"`migrate force 1` once you finished it by hand, or `migrate force -1` "
                       r"once you undid it$"):
        commands.status(settings)

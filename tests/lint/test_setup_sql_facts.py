"""Lint without a database knows what the `setup-sql` files make before the first migration
(task 514: DHIS2's base schema, whose 845 `integer` id columns a migration makes `bigint`,
gave 882 DBS110 "the column's current type is unknown" offline). The files are read as the
facts of migrations that ran before, never linted; with a database's schema they are not
read at all (it says what they made). The verdicts are held against PostgreSQL in
`test_the_verdicts_are_what_postgresql_does`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pytest_postgresql.executors.noop import NoopExecutor

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Report
from dbsafe.lint.engine import History
from dbsafe.lint.run import setup_facts
from dbsafe.schema.model import SchemaSnapshot
from tests.helpers import module_database

BASE = """\
-- the environment's base schema (DHIS2's dhis2_base_schema.sql, in small)
CREATE TABLE customers (id integer PRIMARY KEY, name varchar(20) NOT NULL);
CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer REFERENCES customers (id),
    note varchar(20) NOT NULL,
    kind text
);
"""

CHANGE = """\
ALTER TABLE orders ALTER COLUMN id TYPE bigint;
ALTER TABLE orders ALTER COLUMN note TYPE text;
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
UPDATE customers SET name = 'none' WHERE name = '';
"""


def _project(tmp_path: Path, setup: str | None, change: str = CHANGE,
             **settings: object) -> tuple[Settings, Path]:
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "V1__change.sql").write_text(change)
    files: tuple[Path, ...] = ()
    if setup is not None:
        (tmp_path / "base.sql").write_text(setup)
        files = (tmp_path / "base.sql",)
    return Settings(project_root=tmp_path, setup_sql=files, sql_migrations_in_transaction=True,
                    select=("DBS107", "DBS110", "DBS140"), **settings), folder  # type: ignore[arg-type]


def _found(report: Report) -> list[tuple[str, int, str]]:
    return sorted((f.code, f.location.line, f.message) for f in report.findings
                  if f.location is not None)


def test_the_tables_the_setup_files_make_are_known_to_the_rules(tmp_path: Path) -> None:
    settings, folder = _project(tmp_path, BASE)
    report = commands.lint(settings, [folder])
    assert _found(report) == [
        ("DBS110", 1, "Changing `orders.id` from `integer` to `bigint` rewrites `orders` under "
                      "an ACCESS EXCLUSIVE lock; reads and writes on `orders` wait until every "
                      "row is rewritten."),
        # (its keys known: `name` is none of them, so every row may match)
        ("DBS140", 4, "`UPDATE` changes every row of `customers` its WHERE matches (no key range "
                      "or LIMIT bounds them) in one statement, each locked until the "
                      "transaction commits: writes to those rows wait, and the change cannot "
                      "be resumed part-way."),
    ]
    # varchar(20) -> text keeps the rows, and `note` is NOT NULL already: no scan
    assert "lines" not in report.summary
    # never linted, never reported: the file is the environment's
    assert all(f.location is None or f.location.path == "db/V1__change.sql"
               for f in report.findings)


def test_without_setup_sql_nothing_changes(tmp_path: Path) -> None:
    settings, folder = _project(tmp_path, None)
    assert [(code, line, "could not tell because the column's current type is unknown"
             in message) for code, line, message in _found(commands.lint(settings, [folder]))
            ] == [("DBS107", 3, False), ("DBS110", 1, True), ("DBS110", 2, True)]


def test_a_setup_statement_the_parser_rejects_is_said_once_and_the_rest_is_read(
        tmp_path: Path) -> None:
    setup = ("CREATE EXTENSION IF NOT EXISTS pgcrypto;\n"
             "CREATE TABEL broken (id int);\n"
             "CREATE TABEL broken_too (id int);\n" + BASE)
    settings, folder = _project(tmp_path, setup)
    report = commands.lint(settings, [folder])
    assert [code for code, *_ in _found(report)] == ["DBS110", "DBS140"]  # (no DBS001)
    [line] = report.summary["lines"]  # type: ignore[misc]
    assert line.startswith("setup-sql base.sql:2: PostgreSQL's parser rejects this statement "
                           "and 1 more (syntax error at or near \"TABEL\"): lint's rules do "
                           "not know what they make before the first migration.")


def test_a_setup_file_that_is_not_there_is_said(tmp_path: Path) -> None:
    settings, folder = _project(tmp_path, None)
    settings = dataclasses.replace(settings, setup_sql=(tmp_path / "gone.sql",))
    report = commands.lint(settings, [folder])
    assert report.summary["lines"] == [
        "setup-sql gone.sql could not be read (cannot read gone.sql: No such file or "
        "directory): lint's rules do not know what it makes before the first migration."]
    assert any("could not tell" in f.message for f in report.findings)


def test_what_the_setup_session_sets_ends_with_it(tmp_path: Path) -> None:
    (tmp_path / "base.sql").write_text(
        "SET search_path TO app;\nSET TIME ZONE 'UTC';\n"
        "CREATE TEMP TABLE scratch (id int);\n" + BASE)
    settings = Settings(project_root=tmp_path, setup_sql=(tmp_path / "base.sql",))
    history = History()
    assert setup_facts(settings, history, None) == []
    assert (history.search_path, history.timezone_utc, history.temporary) == (None, False, set())
    assert history.columns["orders"]["id"].type is not None


def test_with_the_database_schema_the_files_are_not_read(tmp_path: Path) -> None:
    # The database got them before its first migration: its schema says what they made,
    # as it stands now.
    (tmp_path / "base.sql").write_text(BASE)
    settings = Settings(project_root=tmp_path, setup_sql=(tmp_path / "base.sql",))
    history = History()
    assert setup_facts(settings, history, SchemaSnapshot()) == []
    assert history.columns == {}


def test_locks_know_the_setup_files_foreign_keys(tmp_path: Path) -> None:
    # `DROP TABLE orders` locks `customers` too: the key the base schema declares
    settings, folder = _project(tmp_path, BASE, change="DROP TABLE orders;\n")
    assert ("customers", "ACCESS EXCLUSIVE") in {
        (row.relation, row.mode) for row in commands.lock_report(settings, [folder])}


@pytest.mark.db
def test_the_verdicts_are_what_postgresql_does(pg_server: NoopExecutor, tmp_path: Path) -> None:
    with module_database(pg_server, "dbsafe_setup_sql_facts", BASE
                         + "INSERT INTO customers VALUES (1, 'a');"
                         + "INSERT INTO orders VALUES (1, 1, 'n', NULL);") as conn:
        conninfo = make_conninfo(conn.info.dsn, password=pg_server.password or None)
        settings, folder = _project(tmp_path, BASE)
        flagged = {(code, line) for code, line, _ in _found(commands.lint(settings, [folder]))}
        files = "SELECT pg_relation_filenode('orders')"
        checked = "SELECT pg_stat_get_xact_numscans('orders'::regclass)"
        with psycopg.connect(conninfo) as c:
            for line, statement in enumerate(CHANGE.splitlines()[:3], start=1):
                before, scans = (c.execute(files).fetchone(), c.execute(checked).fetchone())
                c.execute(statement)
                rewrote = c.execute(files).fetchone() != before
                assert rewrote == (("DBS110", line) in flagged), statement
                if "SET NOT NULL" in statement:  # already NOT NULL: nothing to check
                    assert c.execute(checked).fetchone() == scans
                    assert ("DBS107", line) not in flagged
            c.rollback()

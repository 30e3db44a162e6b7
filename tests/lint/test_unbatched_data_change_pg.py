"""DBS140: an UPDATE or DELETE of every row of an existing table in one statement. Its
fixture (tests/lint/fixtures/DBS140.sql) covers the shapes of WHERE; here, what needs more
than one file: the keys an earlier migration or the database gives the table, the
weighing by the table's size (`--database-url`), and an alembic revision's captured SQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Finding, Severity
from dbsafe.lint import lint_sql
from dbsafe.lint.engine import History
from dbsafe.lint.rules import unbatched_data_change
from dbsafe.pg.catalog_functions import AGGREGATE_CATALOG_FUNCTIONS
from dbsafe.report import render
from tests.lint.test_capture import write_history

RULES = [unbatched_data_change.RULE]


def _lines(findings: tuple[Finding, ...] | list[Finding]) -> list[int]:
    return [f.location.line for f in findings if f.code == "DBS140" and f.location]


def test_a_value_of_a_column_that_is_no_key_is_a_backfill_once_the_keys_are_known() -> None:
    history = History()
    lint_sql("CREATE TABLE plans (id int PRIMARY KEY);\n"
             "CREATE TABLE tasks (id int PRIMARY KEY, type text, project text, n int,\n"
             "                    plan_id int REFERENCES plans, UNIQUE (project, n));\n",
             rules=RULES, history=history)
    found = lint_sql(
        "UPDATE tasks SET type = 'schema-update' WHERE type = 'schema-update-sdl';\n"  # 1
        "UPDATE tasks SET type = 'x' WHERE id = 5;\n"
        "UPDATE tasks SET type = 'x' WHERE project = 'p';\n"  # 3: half of a key
        "UPDATE tasks SET type = 'x' WHERE project = 'p' AND n = 7;\n"
        "DELETE FROM tasks WHERE plan_id IN (3, 4);\n"  # the rows of given parents
        # a table lint knows no key of: a column's values given, it cannot tell
        "UPDATE jobs SET type = 'x' WHERE type = 'y';\n",
        rules=RULES, history=history)
    assert _lines(found) == [1, 3]


def test_a_table_earlier_migrations_only_altered_has_keys_lint_does_not_know() -> None:
    # bytebase: 3.4/0002 drops columns of `setting`, made before the files linted; 3.7/0003
    # updates one setting by name (its key then). Lint knows only what the migrations did
    # to its keys (nothing): a column's value given, it cannot tell.
    history = History()
    lint_sql("ALTER TABLE setting DROP COLUMN IF EXISTS creator_id;\n", rules=RULES,
             history=history)
    found = lint_sql("UPDATE setting SET value = '{}' WHERE name = 'bb.workspace.approval';\n"
                     "UPDATE setting SET value = '{}' WHERE value IS NULL;\n",
                     rules=RULES, history=history)
    assert _lines(found) == [2]


def test_an_upsert_or_a_merge_takes_a_batch_only_from_a_key_of_its_source_s_table() -> None:
    # PostgreSQL 18: `INSERT ... SELECT ... ON CONFLICT DO UPDATE` locks every existing row
    # a selected row conflicts with, a MERGE every row its source matches; what the SELECT
    # returns is bounded as an UPDATE's WHERE is, by the keys of the table it reads
    history = History()
    lint_sql("CREATE TABLE staged (id int PRIMARY KEY, kind text);\n"
             "CREATE TABLE orders (id int PRIMARY KEY, kind text);\n",
             rules=RULES, history=history)
    found = lint_sql(
        "INSERT INTO orders SELECT * FROM staged WHERE kind = 'x'\n"  # 1: kind is no key
        "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind;\n"
        "INSERT INTO orders SELECT * FROM staged WHERE id BETWEEN 1 AND 1000\n"
        "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind;\n"
        "MERGE INTO orders o USING (SELECT * FROM staged WHERE kind = 'x') s\n"  # 5
        "ON o.id = s.id WHEN MATCHED THEN DELETE;\n"
        "MERGE INTO orders o USING (SELECT * FROM staged WHERE id < 1000) s\n"
        "ON o.id = s.id WHEN MATCHED THEN DELETE;\n"
        # the ON condition or the WHEN's giving the target's key values: a batch
        "MERGE INTO orders o USING staged s ON o.id = s.id AND o.id BETWEEN 1 AND 1000\n"
        "WHEN MATCHED THEN UPDATE SET kind = s.kind;\n"
        "MERGE INTO orders o USING staged s ON o.id = s.id\n"
        "WHEN MATCHED AND o.id < 1000 THEN UPDATE SET kind = s.kind;\n"
        "MERGE INTO orders o USING staged s ON o.id = s.id\n"  # 13: by content
        "WHEN MATCHED AND o.kind = 'x' THEN UPDATE SET kind = s.kind;\n"
        # a data-modifying WITH's DELETE, read with the orders' keys
        "WITH d AS (DELETE FROM orders WHERE kind = 'x' RETURNING id) SELECT 1;\n"  # 15
        "WITH d AS (DELETE FROM orders WHERE id = 5 RETURNING id) SELECT 1;\n",
        rules=RULES, history=history)
    assert _lines(found) == [1, 5, 13, 15]


def test_the_aggregates_that_make_one_row_are_pg_catalog_s(
        postgresql: psycopg.Connection[Any]) -> None:
    # a name left out: an upsert of `SELECT 'k', that_agg(v) FROM big` (one row) is a false
    # DBS140; a name too many: an unbounded one passes as a batch
    server = {name for (name,) in postgresql.execute(
        "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace "
        "AND prokind = 'a'").fetchall()}
    assert server <= AGGREGATE_CATALOG_FUNCTIONS
    if postgresql.info.server_version >= 180000:
        assert server == AGGREGATE_CATALOG_FUNCTIONS


@pytest.mark.db
def test_a_large_table_makes_it_a_warning_and_the_database_s_keys_count(
        tmp_path: Path, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE events (id int PRIMARY KEY, kind text, payload jsonb);"
            "INSERT INTO events SELECT g, 'old', '{}' FROM generate_series(1, 100) g;"
            "CREATE TABLE tags (id int, name text);"
            "CREATE UNIQUE INDEX tags_name ON tags (name);"
            "ANALYZE events, tags;")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text("CREATE TABLE fresh (id int PRIMARY KEY, v int);\n")
    (folder / "002_change.sql").write_text(
        "UPDATE events SET kind = 'new' WHERE kind = 'old';\n"  # 1: kind is no key of events
        "UPDATE events SET kind = 'new' WHERE id = 5;\n"
        "UPDATE tags SET name = 'y' WHERE name = 'x';\n"  # a unique index of the database's
        "UPDATE fresh SET v = 0;\n"  # the database has no `fresh` yet: it is empty
        "DELETE FROM events WHERE payload ? 'k';\n"  # 5
        "MERGE INTO events USING tags ON events.id = tags.id WHEN MATCHED THEN DELETE;\n"  # 6
        # an upsert's SELECT bounded by the database's unique index of its table, or not
        "INSERT INTO events SELECT id, 'x', '{}' FROM tags WHERE name = 'a'\n"
        "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind;\n"
        "INSERT INTO events SELECT id, 'x', '{}' FROM tags WHERE id = 3\n"  # 9
        "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind;\n"
        "WITH gone AS (DELETE FROM events WHERE kind = 'x' RETURNING id)\n"  # 11
        "SELECT count(*) FROM gone;\n")

    def lint(**options: object) -> list[Finding]:
        settings = Settings(project_root=tmp_path, database_url=database_url,
                            select=("DBS140",), **options)  # type: ignore[arg-type]
        return list(commands.lint(settings, [folder]).findings)

    small = lint()
    assert _lines(small) == [1, 5, 6, 9, 11]
    assert {f.severity for f in small} == {Severity.NOTE}
    assert all("~100 rows" in dict(f.context).get("Table size", "") for f in small)
    large = lint(large_table=0)
    assert _lines(large) == [1, 5, 6, 9, 11]
    assert {f.severity for f in large} == {Severity.WARNING}


_MODEL = '''
orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("status", sa.String))
'''

_REVISIONS = {
    "r01": '''
def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("status", sa.String(20)))
''',
    "r02": _MODEL + '''

def upgrade():
    op.execute(orders.update().values(status="new"))
    op.execute(orders.update().where(orders.c.id == 5).values(status="paid"))
    op.bulk_insert(orders, [{"id": 7, "status": "new"}])
    op.execute(sa.delete(orders).where(orders.c.status.is_(None)))
    with op.get_context().autocommit_block():
        op.execute("UPDATE orders SET status = 'done'")
''',
}


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_an_alembic_revision_s_data_changes_are_read_from_the_sql_it_ran(
        tmp_path: Path) -> None:
    write_history(tmp_path, _REVISIONS)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS140",)))
    found = [(f.location.line, f.message.split(" in one statement, ")[1].split(":")[0])
             for f in report.findings if f.location is not None]
    # sa.update() of every row and sa.delete() by content, in the revision's transaction;
    # the statement in the autocommit block holds its rows until it ends
    assert found == [(20, "each locked until the transaction commits"),
                     (23, "each locked until the transaction commits"),
                     (25, "each locked until it ends")]


_LOOPS = {
    "r01": '''
def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("size", sa.Integer), sa.Column("status", sa.String(20)))
    op.create_table("invoices", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("status", sa.String(20)))
''',
    "r02": '''
orders = sa.table("orders", sa.column("size", sa.Integer), sa.column("status", sa.String))


def upgrade():
    for size in range(4):
        op.execute(orders.update().where(orders.c.size == size).values(status=f"s{size}"))
    for name in ("orders", "invoices"):
        op.execute(f"UPDATE {name} SET status = 'x'")
''',
}


@pytest.mark.db
@pytest.mark.usefixtures("one_server_throwaways")
def test_a_loop_s_findings_at_one_line_are_one_in_the_text_report_and_each_in_json(
        tmp_path: Path) -> None:
    # irrd's a8609af97aa3 (task 558): one UPDATE run in a Python loop is a DBS140 per
    # statement it ran, all at one line, alike but for the statement's own values: the
    # text report shows the first and says how many more; a loop over tables names each
    write_history(tmp_path, _LOOPS)
    report = commands.lint(Settings(project_root=tmp_path, select=("DBS140",)))
    assert _lines(report.findings) == [21] * 4 + [23] * 2
    text = render(report, "text", commands.catalog())
    shown = [line for line in text.splitlines() if " DBS140 " in line]
    assert [line.split(": DBS140")[0].rsplit(":", 2)[1] for line in shown] == \
        ["21", "23", "23"]
    assert {line.split("every row of ")[1].split(" ")[0] for line in shown[1:]} == \
        {"`orders`", "`invoices`"}
    assert text.count("... and 3 more like it at this line (--format json lists each)") == 1
    assert "SET status='s0'" in text and "SET status='s1'" not in text
    assert text.rstrip().endswith(")") and "6 notes" in text.splitlines()[-1]
    github = render(report, "github", commands.catalog())
    assert github.count("title=DBS140") == 3
    assert len(json.loads(render(report, "json", commands.catalog()))["findings"]) == 6

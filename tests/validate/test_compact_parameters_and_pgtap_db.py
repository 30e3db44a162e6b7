"""Statements sqlglot could not read, so none of their columns was checked, though
PostgreSQL prepares them: node-postgres' compact `VALUES ($1,$2)` (sqlglot 30 takes `$1,$`
for a dollar quote's tag; trigger.dev's seeds), and a Supabase project's pgTAP tests, whose
`select is(have, want, 'description')` calls a function named `is` and whose
`select ... limit 1 \\gset` ends at psql's meta-command (pgflow's `supabase/tests`: 203 of
its statements). Real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_prepares, validate_module

_DDL = "CREATE TABLE runs (id int PRIMARY KEY, flow_slug text, started_at timestamptz)"

_QUERIES = """\
import pg from "pg";
const pool = new pg.Pool();
export async function seed(id, slug, at) {
  await pool.query('INSERT INTO runs (id,flow_slug,started_at) VALUES ($1,$2,$3::timestamptz)', [id, slug, at]);
  await pool.query('INSERT INTO runs (id,flow_slg,started_at) VALUES ($1,$2,$3::timestamptz)', [id, slug, at]);
  return pool.query('SELECT flow_slug FROM runs WHERE id IN ($1,$2)', [id, id]);
}
"""

_PGTAP = """\
begin;
select plan(3);
select id from runs where flow_slug = 'f' limit 1 \\gset
select id as run_id from runs where flow_slg = 'f' limit 1 \\gset
select is((select count(*) from runs where flow_slug = 'f'), 1::bigint, 'one run');
select is((select count(*) from runs where started = now()), 0::bigint, 'none started');
select * from finish();
rollback;
"""


@pytest.mark.db
def test_compact_dollar_parameters_are_read(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "seed.js", _QUERIES)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 5, "public.runs.flow_slg"),
    ]
    assert report.summary["statements_analysed"] == 3
    assert_prepares(
        database_url, "",
        ("INSERT INTO runs (id,flow_slug,started_at) VALUES ($1,$2,$3::timestamptz)",
         "SELECT flow_slug FROM runs WHERE id IN ($1,$2)"),
        ("INSERT INTO runs (id,flow_slg,started_at) VALUES ($1,$2,$3::timestamptz)",))


@pytest.mark.db
def test_pgtap_is_calls_and_gset_statements_are_read(database_url: str, tmp_path: Path) -> None:
    report = validate_module(database_url, tmp_path, _DDL, "runs.test.sql", _PGTAP)
    assert [(f.code, f.location.line, f.subject) for f in report.findings] == [
        ("DBS302", 4, "public.runs.flow_slg"),
        ("DBS302", 6, "public.runs.started"),
    ]
    assert report.summary["statements_unparsed"] == 0
    assert report.summary["statements_analysed"] == 5  # plan, the four selects
    # `is` needs pgTAP, so the columns are judged by the statements `is` is given.
    assert_prepares(
        database_url, "",
        ("select id from runs where flow_slug = 'f' limit 1",
         "select (select count(*) from runs where flow_slug = 'f'), 1::bigint, 'one run'"),
        ("select id as run_id from runs where flow_slg = 'f' limit 1",
         "select (select count(*) from runs where started = now()), 0::bigint, 'none started'"))


@pytest.mark.db
def test_pgtap_tests_call_pgtaps_functions_but_not_a_missing_one(database_url: str,
                                                                  tmp_path: Path) -> None:
    # pgTAP's functions exist where its tests run; a function the schema lacks a test calls
    # (`run_count`) does not, nor do pgTAP's in a file that is no pgTAP test (no `plan`). A
    # file psql includes (`\i`, pgflow's `_shared/prune_data_older_than.sql.raw`) may make
    # what the test calls (`prune_runs`).
    (tmp_path / "report.sql").write_text("select ok(true);\n", encoding="utf-8")
    (tmp_path / "prune.test.sql").write_text(
        "select plan(1);\n\\i _shared/prune_runs.sql.raw\nselect prune_runs('30 days');\n"
        "select is((select count(*) from runs), 0::bigint, 'pruned');\n", encoding="utf-8")
    report = validate_module(database_url, tmp_path, _DDL, "count.test.sql", (
        "select no_plan();\n"
        "select has_table('runs'), col_is_pk('runs', 'id');\n"
        "select ok(run_count('f') = 1, 'one run');\n"
        "select * from finish();\n"))
    assert [(f.code, f.location.path, f.location.line, f.subject) for f in report.findings] == [
        ("DBS314", "count.test.sql", 3, "run_count"),
        ("DBS314", "report.sql", 1, "ok"),
    ]

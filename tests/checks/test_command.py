"""`commands.check` and the `dbsafe check` wiring: sources, selection, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dbsafe import commands
from dbsafe.cli import main
from dbsafe.config import load_settings
from dbsafe.core import ConfigError, Severity
from dbsafe.schema.model import Relation, SchemaSnapshot


def test_check_without_a_database_or_snapshot_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dbsafe check needs a database"):
        commands.check(load_settings(tmp_path, environ={}))


def test_check_on_a_snapshot_checks_only_the_expectations(tmp_path: Path) -> None:
    snapshot = tmp_path / "schema.json"
    SchemaSnapshot(relations=(Relation("public", "legacy", "table"),)).save(snapshot)
    (tmp_path / "dbsafe-expect.toml").write_text('absent-tables = ["legacy"]\n')
    report = commands.check(load_settings(tmp_path, overrides={"snapshot": snapshot},
                                          environ={}))
    assert [(f.code, f.subject) for f in report.findings] == [("DBS550", "public.legacy")]
    assert report.summary["expectations"] == 1
    assert "only the schema expectations" in str(report.summary["not_checked"])



def test_check_on_a_snapshot_with_no_expectations_says_nothing_was_checked(
        tmp_path: Path) -> None:
    """`dbsafe check --snapshot schema.json` in a project with no expectations said "only the
    schema expectations were checked" and "no findings": it checked nothing (task 402)."""
    snapshot = tmp_path / "schema.json"
    SchemaSnapshot(relations=(Relation("public", "legacy", "table"),)).save(snapshot)
    settings = load_settings(tmp_path, overrides={"snapshot": snapshot}, environ={})
    report = commands.check(settings)
    assert (report.findings, report.summary["not_checked"]) == ((), [
        "database checks need --database-url, and there are no schema expectations "
        "([tool.dbsafe.expect], or the expect-file: dbsafe-expect.toml by default): "
        "nothing was checked against the snapshot"])
    # --only without DBS550 leaves the expectations out: they were checked all the same
    (tmp_path / "dbsafe-expect.toml").write_text('absent-tables = ["legacy"]\n')
    only = commands.check(settings, only=["DBS501"])
    assert (only.findings, only.summary["not_checked"]) == ((), [
        "database checks need --database-url, and --only leaves out the schema expectations "
        "(DBS550): nothing was checked against the snapshot"])


@pytest.mark.db
def test_check_only_the_expectations_with_none_says_so(database_url: str,
                                                       tmp_path: Path) -> None:
    """`dbsafe check --only DBS550` (checks.md's "just the schema expectations") with none
    configured ran nothing and said only "no findings" (task 402)."""
    settings = load_settings(tmp_path, environ={}, overrides={"database-url": database_url})
    report = commands.check(settings, only=["DBS550"])
    assert (report.findings, report.summary["not_checked"]) == ((), [
        "DBS550 expectation-not-met not checked: there are no schema expectations "
        "([tool.dbsafe.expect], or the expect-file: dbsafe-expect.toml by default)"])
    # With checks to run, no expectations is nothing to say
    assert "not_checked" not in commands.check(settings, only=["DBS5"]).summary

@pytest.mark.db
def test_check_runs_every_check_and_applies_ignore_and_severity(database_url: str,
                                                                 conninfo: str,
                                                                 tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit_log (at timestamptz); "
                     "CREATE TABLE patients (id int PRIMARY KEY); "
                     "ALTER TABLE patients ENABLE ROW LEVEL SECURITY")
    settings = load_settings(tmp_path, environ={}, overrides={
        "database-url": database_url, "ignore": ["DBS509"], "severity": {"DBS507": "error"}})
    report = commands.check(settings)
    assert [(f.code, f.subject, f.severity) for f in report.findings] == [
        ("DBS507", "public.audit_log", Severity.ERROR)]
    assert report.summary["checks_run"] == 20
    assert report.summary["checks_failed"] == 0


@pytest.mark.db
def test_cli_exit_codes(database_url: str, conninfo: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DBSAFE_DATABASE_URL", raising=False)
    runner = CliRunner()
    clean = runner.invoke(main, ["check", "--database-url", database_url])
    assert clean.exit_code == 0, clean.output
    assert clean.output.startswith("no findings (20 checks run")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit_log (at timestamptz)")
    dirty = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS507",
                                 "--format", "json"])
    assert dirty.exit_code == 1
    assert [f["subject"] for f in json.loads(dirty.output)["findings"]] == ["public.audit_log"]
    # GitLab's Code Quality report (artifacts: reports: codequality): a finding about the
    # database has no file, and is still an issue the merge request shows
    gitlab = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS507",
                                  "--format", "gitlab"])
    assert gitlab.exit_code == 1
    [issue] = json.loads(gitlab.output)
    assert (issue["check_name"], issue["severity"], issue["location"]) == (
        "DBS507", "minor", {"path": "", "lines": {"begin": 1}})
    assert "audit_log" in issue["description"]
    comment = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS507",
                                   "--format", "markdown"])
    assert comment.exit_code == 1
    assert comment.output.startswith("<!-- dbsafe:check -->\n### :x: `dbsafe check`: 1 finding\n")
    assert "#### The database\n\n- **warning** [DBS507](" in comment.output
    assert "`public.audit_log`" in comment.output
    noted = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS507",
                                 "--fail-on", "error"])
    assert noted.exit_code == 0
    missing = runner.invoke(main, ["check"])
    assert missing.exit_code == 2
    assert "dbsafe check needs a database" in missing.output


@pytest.mark.db
def test_what_a_check_could_not_look_at_is_said_in_text_and_json_and_leaves_exit_0(
        database_url: str, conninfo: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sequence at 90% of its range that dbsafe's role may not read (a monitoring role):
    not a finding, but never a silent pass; the exit status stays the findings' (as lint's
    migrations in code, not linted)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DBSAFE_DATABASE_URL", raising=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE payroll_numbers MAXVALUE 10")
        conn.execute("SELECT setval('payroll_numbers', 9)")
        conn.execute("DO $$ BEGIN CREATE ROLE dbsafe_check_reader; "
                     "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET role = "
                     "dbsafe_check_reader', current_database()); END $$")
    said = ("DBS511 sequence-near-exhaustion not checked: 1 sequence dbsafe's role may not "
            "read (no SELECT or USAGE on it): `public.payroll_numbers`")
    runner = CliRunner()
    text = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS511"])
    assert text.exit_code == 0, text.output
    said_line, summary = text.output.splitlines()
    assert said_line == f"warning: {said}"
    assert summary.startswith("no findings (1 check run; 1 not checked (above); ")
    as_json = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS511",
                                   "--format", "json"])
    assert as_json.exit_code == 0
    document = json.loads(as_json.output)
    assert (document["findings"], document["summary"]["not_checked"]) == ([], [said])
    comment = runner.invoke(main, ["check", "--database-url", database_url, "--only", "DBS511",
                                   "--format", "markdown"])
    assert comment.exit_code == 0
    assert comment.output.splitlines()[1] == (
        "### :warning: `dbsafe check`: no findings, 1 not checked")
    assert "#### :warning: Not checked" in comment.output
    assert ("- DBS511 sequence-near-exhaustion not checked: 1 sequence dbsafe's role may not "
            "read (no SELECT or USAGE on it): `public.payroll_numbers`") in comment.output


def test_cli_explain_prints_the_check_docs() -> None:
    result = CliRunner().invoke(main, ["check", "--explain", "dbs511"])
    assert result.exit_code == 0
    assert result.output.startswith("DBS511 sequence-near-exhaustion (warning, since 0.1.0)\n")
    assert "## Why" in result.output and "## Fix" in result.output


@pytest.mark.db
def test_only_dbs550_runs_just_the_expectations(database_url: str, conninfo: str,
                                                 tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE legacy (x int)")  # no primary key: DBS507 if it ran
    (tmp_path / "dbsafe-expect.toml").write_text('absent-tables = ["legacy"]\n')
    settings = load_settings(tmp_path, environ={}, overrides={"database-url": database_url})
    report = commands.check(settings, only=["DBS550"])
    assert [(f.code, f.subject) for f in report.findings] == [("DBS550", "public.legacy")]
    assert report.summary["checks_run"] == 0
    only_checks = commands.check(settings, only=["DBS507"])
    assert [f.code for f in only_checks.findings] == ["DBS507"]

"""The runner on real PostgreSQL: read-only, bounded, one failing check never stops the rest."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.checks import run_checks
from dbsafe.config import load_settings
from dbsafe.core import DatabaseError

pytestmark = pytest.mark.db

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_check(folder: Path, code: str, name: str, sql: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name.replace('-', '_')}.sql").write_text(
        f"-- dbsafe:check {code} {name}\n-- severity: warning\n-- since: 0.1.0\n"
        f"-- summary: Test check.\n-- help: Fix it.\n{sql}\n", encoding="utf-8")


def settings_for(tmp_path: Path, **overrides: object):
    return load_settings(tmp_path, overrides={"check-paths": ["checks"], **overrides},
                         environ={})


def test_a_failing_check_is_reported_and_the_others_still_run(conninfo: str,
                                                              tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    write_check(checks, "DBS590", "broken-check", "SELECT 'x' AS subject, 'm' AS message "
                                                  "FROM no_such_table")
    write_check(checks, "DBS591", "working-check", "SELECT 'public.y' AS subject, "
                                                   "'Y is wrong.' AS message")
    findings = run_checks(conninfo, only=["DBS59"], settings=settings_for(tmp_path))
    assert [(f.code, f.subject) for f in findings] == [("DBS004", "DBS590"),
                                                       ("DBS591", "public.y")]
    failed = findings[0]
    assert "`DBS590 broken-check` could not run" in failed.message
    assert 'relation "no_such_table" does not exist' in dict(failed.context)["Database error"]


def test_a_check_cannot_write(conninfo: str, tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int); CREATE SEQUENCE s; "
                     "CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS "
                     "'INSERT INTO t VALUES (1) RETURNING x'")
    checks = tmp_path / "checks"
    write_check(checks, "DBS590", "writes-through-function",
                "SELECT 'a' AS subject, sneaky()::text AS message")
    write_check(checks, "DBS591", "advances-sequence",
                "SELECT 'b' AS subject, nextval('s')::text AS message")
    write_check(checks, "DBS592", "escapes-read-only",
                "SELECT 'c' AS subject, set_config('transaction_read_only', 'off', true) "
                "AS message")
    findings = run_checks(conninfo, only=["DBS59"], settings=settings_for(tmp_path))
    assert [(f.code, f.subject) for f in findings] == [
        ("DBS004", "DBS590"), ("DBS004", "DBS591"), ("DBS004", "DBS592")]
    assert "read-only transaction" in dict(findings[0].context)["Database error"]
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        assert conn.execute("SELECT last_value, is_called FROM s").fetchone() == (1, False)


def test_a_slow_check_hits_check_timeout(conninfo: str, tmp_path: Path) -> None:
    write_check(tmp_path / "checks", "DBS590", "slow-check",
                "SELECT 'a' AS subject, pg_sleep(5)::text AS message")
    findings = run_checks(conninfo, only=["DBS590"],
                          settings=settings_for(tmp_path, **{"check-timeout": "200ms"}))
    assert [f.code for f in findings] == ["DBS004"]
    assert "statement timeout" in dict(findings[0].context)["Database error"]


def test_a_check_without_subject_and_message_columns_is_reported(conninfo: str,
                                                                 tmp_path: Path) -> None:
    write_check(tmp_path / "checks", "DBS590", "bad-columns", "SELECT 1 AS n")
    findings = run_checks(conninfo, only=["DBS590"], settings=settings_for(tmp_path))
    assert [f.code for f in findings] == ["DBS004"]
    assert dict(findings[0].context)["Database error"] == (
        "the query must return `subject` and `message` columns; it returned n")


def test_check_variables_and_extra_columns_reach_the_finding(conninfo: str,
                                                             tmp_path: Path) -> None:
    write_check(tmp_path / "checks", "DBS590", "reads-variable",
                "SELECT 'public.z' AS subject, current_setting('dbsafe.my_limit') AS message, "
                "42 AS rows_seen, NULL AS nothing")
    settings = settings_for(tmp_path, **{"check-variables": {"my-limit": 7}})
    [finding] = run_checks(conninfo, only=["DBS590"], settings=settings)
    assert (finding.message, finding.context) == ("7", (("rows_seen", "42"),))


def test_sqlalchemy_urls_are_accepted(database_url: str, tmp_path: Path) -> None:
    url = database_url.replace("postgresql://", "postgresql+psycopg://")
    assert run_checks(url, only=["DBS501"], settings=load_settings(tmp_path, environ={})) == []


def test_an_unreachable_database_is_an_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://app:s3cret-pw@127.0.0.1:1/shop?connect_timeout=2"
    with pytest.raises(DatabaseError) as excinfo:
        run_checks(url, settings=load_settings(tmp_path, environ={}))
    assert "s3cret-pw" not in str(excinfo.value)
    assert "could not connect to postgresql+asyncpg://app:***@127.0.0.1:1/shop" in str(
        excinfo.value)


def test_the_example_project_checks_find_their_problems(conninfo: str, tmp_path: Path) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("""
            CREATE TABLE patients (id bigint PRIMARY KEY, clinic_id bigint NOT NULL);
            CREATE TABLE appointments (id bigint PRIMARY KEY, patient_id bigint NOT NULL,
                clinic_id bigint NOT NULL, starts_at timestamptz NOT NULL,
                duration_min int NOT NULL DEFAULT 30, status text NOT NULL DEFAULT 'booked');
            INSERT INTO patients VALUES (1, 10), (2, 20);
            INSERT INTO appointments VALUES
                (1, 1, 10, '2026-12-01 09:00', 30, 'booked'),
                (2, 1, 10, '2026-12-01 09:15', 30, 'booked'),
                (3, 2, 10, '2026-12-01 09:00', 30, 'booked'),
                (4, 2, 20, '2026-12-01 09:30', 30, 'cancelled')""")
    settings = load_settings(tmp_path, environ={}, overrides={
        "check-paths": [str(REPO_ROOT / "checks")]})
    findings = run_checks(conninfo, only=["DBS56"], settings=settings)
    assert [(f.code, f.subject) for f in findings] == [
        ("DBS560", "public.appointments.3"), ("DBS561", "public.appointments.1")]


# An unused-index-min-age PostgreSQL cannot read as an interval made DBS514 fail (a DBS004
# finding telling to fix the check's SQL, exit 1); it is a configuration error naming the key.
@pytest.mark.parametrize(("value", "said"), [
    ("forever", 'invalid input syntax for type interval: "forever"'),
    ("99999999999 years", "interval field value out of range"),
])
def test_an_unused_index_min_age_postgresql_cannot_read_is_a_config_error(
        conninfo: str, tmp_path: Path, value: str, said: str) -> None:
    from dbsafe.core import ConfigError

    (tmp_path / "pyproject.toml").write_text(f'[tool.dbsafe]\nunused-index-min-age = "{value}"\n')
    settings = load_settings(tmp_path, environ={})
    with pytest.raises(ConfigError) as refused:
        run_checks(conninfo, only=["DBS514"], settings=settings)
    assert str(refused.value).startswith(
        f"{tmp_path / 'pyproject.toml'}: [tool.dbsafe] unused-index-min-age: {value!r} is not a "
        f"PostgreSQL interval such as '7 days' ({said}")
    for taken in ("1 week", "P1D", ""):  # what PostgreSQL reads, and unset
        assert run_checks(conninfo, only=["DBS514"],
                          settings=load_settings(tmp_path, {"unused-index-min-age": taken},
                                                 environ={})) == []

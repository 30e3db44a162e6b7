"""Schema expectations: parsed strictly, checked against a snapshot and a live database."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe.checks import check_expectations, load_expectations
from dbsafe.checks.expect import parse_expectations
from dbsafe.config import load_settings
from dbsafe.core import ConfigError
from dbsafe.schema.model import Column, Index, Relation, SchemaSnapshot

EXPECT = {
    "absent-columns": ["appointment_series.notes"],
    "present-columns": ["public.appointments.clinic_id"],
    "absent-tables": ["legacy_orders"],
    "present-tables": ["appointments"],
    "rls": ["patients"],
    "refreshable-concurrently": ["daily_counts"],
    "indexes": {"ix_appointments_clinic_starts": {
        "table": "appointments", "columns": ["clinic_id", "starts_at"], "unique": False}},
}

SETUP = """
CREATE TABLE appointment_series (id bigint PRIMARY KEY, notes text);
CREATE TABLE appointments (id bigint PRIMARY KEY, clinic_id bigint, starts_at timestamptz);
CREATE TABLE legacy_orders (id bigint PRIMARY KEY);
CREATE TABLE patients (id bigint PRIMARY KEY);
CREATE INDEX ix_appointments_clinic_starts ON appointments (starts_at, clinic_id);
CREATE MATERIALIZED VIEW daily_counts AS SELECT clinic_id, count(*) AS n FROM appointments
    GROUP BY clinic_id WITH NO DATA;
CREATE UNIQUE INDEX ON daily_counts (clinic_id);
"""

FIXED = """
ALTER TABLE appointment_series DROP COLUMN notes;
DROP TABLE legacy_orders;
ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
DROP INDEX ix_appointments_clinic_starts;
CREATE INDEX ix_appointments_clinic_starts ON appointments (clinic_id, starts_at);
REFRESH MATERIALIZED VIEW daily_counts;
"""


def test_unknown_keys_and_wrong_kinds_are_errors() -> None:
    with pytest.raises(ConfigError, match=r"f\.toml: unknown key expect\.colums"):
        parse_expectations({"colums": []}, "f.toml")
    with pytest.raises(ConfigError, match=r"expect\.absent-columns: 'notes' is not a"):
        parse_expectations({"absent-columns": ["notes"]}, "f.toml")
    with pytest.raises(ConfigError, match=r"expect.indexes.ix: `columns` must list"):
        parse_expectations({"indexes": {"ix": {"table": "t"}}}, "f.toml")
    with pytest.raises(ConfigError, match=r"expect.indexes.ix: unknown key\(s\) valid"):
        parse_expectations({"indexes": {"ix": {"table": "t", "columns": ["a"], "valid": 1}}},
                           "f.toml")


def test_pyproject_table_and_expect_file_are_both_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dbsafe.expect]\nabsent-columns = ["appointment_series.notes"]\n')
    (tmp_path / "dbsafe-expect.toml").write_text('rls = ["patients"]\n')
    expectations = load_expectations(load_settings(tmp_path, environ={}))
    assert expectations.absent_columns == ("appointment_series.notes",)
    assert expectations.rls == ("patients",)
    assert "dbsafe-expect.toml" in expectations.origin


def test_expectations_against_a_snapshot() -> None:
    snapshot = SchemaSnapshot(relations=(
        Relation("public", "appointment_series", "table",
                 columns=(Column("id", "bigint", 1), Column("notes", "text", 2))),
        Relation("public", "appointments", "table", columns=(
            Column("id", "bigint", 1), Column("clinic_id", "bigint", 2),
            Column("starts_at", "timestamptz", 3)),
            indexes=(Index("ix_appointments_clinic_starts", "", ("clinic_id", "starts_at"),
                           valid=False),)),
        Relation("public", "patients", "table", rls_enabled=True),
        Relation("public", "daily_counts", "materialized_view",
                 columns=(Column("clinic_id", "bigint", 1),),
                 indexes=(Index("ux", "", ("clinic_id",), unique=True),)),
    ))
    findings = check_expectations(snapshot, parse_expectations(EXPECT, "pyproject.toml"))
    assert [(f.code, f.subject) for f in findings] == [
        ("DBS550", "public.appointment_series.notes"),
        ("DBS550", "public.ix_appointments_clinic_starts")]
    assert findings[1].message == ("Index `ix_appointments_clinic_starts` is expected on "
                                   "`appointments` (clinic_id, starts_at), but it is invalid.")
    assert findings[0].context == (("Expected by", "pyproject.toml"),)


@pytest.mark.db
def test_expectations_against_a_live_database(conninfo: str, database_url: str) -> None:
    expectations = parse_expectations(EXPECT, "pyproject.toml")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SETUP)
    findings = check_expectations(database_url, expectations)
    assert sorted((f.subject or "", f.message) for f in findings) == [
        ("public.appointment_series.notes", "Column `public.appointment_series.notes` exists "
         "but is expected to be absent."),
        ("public.daily_counts", "Materialized view `public.daily_counts` is expected to be "
         "refreshable concurrently but has not been populated."),
        ("public.ix_appointments_clinic_starts", "Index `ix_appointments_clinic_starts` is "
         "expected on `appointments` (clinic_id, starts_at), but its key columns are "
         "(starts_at, clinic_id)."),
        ("public.legacy_orders", "Table `public.legacy_orders` exists but is expected to be "
         "absent."),
        ("public.patients", "Table `public.patients` is expected to have row-level security "
         "enabled but it is disabled."),
    ]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(FIXED)
    assert check_expectations(database_url, expectations) == []

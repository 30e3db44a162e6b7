"""`dbsafe lint --database-url` weighs locking findings by the size of their table: each
carries it, and on a table smaller than `large-table` an error is lowered to a warning --
whatever the finding's subject names (the table, one of its columns, qualified or not)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Finding

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE accounts (id int PRIMARY KEY, email varchar, plan text);
INSERT INTO accounts SELECT g, 'a' || g, 'free' FROM generate_series(1, 100) g;
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, total int);
INSERT INTO billing.invoices SELECT g, g FROM generate_series(1, 100) g;
ANALYZE accounts, billing.invoices;
"""

CHANGE = """
ALTER TABLE accounts ALTER COLUMN email TYPE varchar(50);
ALTER TABLE accounts ALTER COLUMN plan SET NOT NULL;
CREATE INDEX ix_accounts_plan ON accounts (plan);
ALTER TABLE billing.invoices ALTER COLUMN total TYPE bigint;
"""

EXPECTED = {("DBS110", "accounts.email"), ("DBS107", "accounts.plan"),
            ("DBS101", "accounts"), ("DBS110", "billing.invoices.total")}


def _lint(tmp_path: Path, url: str, **options: object) -> list[Finding]:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "002_change.sql").write_text(CHANGE)
    settings = Settings(project_root=tmp_path, database_url=url,
                        ignore=("DBS114", "DBS115"), **options)  # type: ignore[arg-type]
    return [f for f in commands.lint(settings, [folder]).findings
            if f.code in ("DBS101", "DBS107", "DBS110")]


def test_locking_findings_on_small_tables_are_warnings_with_their_size(
        tmp_path: Path, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    findings = _lint(tmp_path, database_url)
    assert {(f.code, f.subject) for f in findings} == EXPECTED
    for finding in findings:
        assert finding.severity.value == "warning", finding
        size = dict(finding.context).get("Table size")
        assert size is not None and "~100 rows" in size, finding
    # Every table large: errors again, still with their size.
    large = _lint(tmp_path, database_url, large_table=0)
    assert {(f.code, f.severity.value) for f in large} == {
        (code, "error") for code, _ in EXPECTED}
    assert all("Table size" in dict(f.context) for f in large)

"""Rows that refuse a pending statement (`guard.row_refusals`, DBS615), asked of real
PostgreSQL: each kind of statement validating rows, over a table whose rows refuse it and one
whose rows do not; a data migration before it; a query cut by its timeout. Every verdict is
held against what PostgreSQL does when the statement runs (refused: it fails; passes: it
succeeds), in a transaction rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dbsafe.guard.row_refusals import (
    Verdict,
    probe_rows,
    refusal_finding,
    verdicts_summary,
)
from dbsafe.lint.row_changes import RowChanges
from dbsafe.lint.statement import parse_statement
from tests.helpers import module_database

pytestmark = pytest.mark.db

# `volumes` holds rows refusing every statement below; `clean` the same shape, none.
SCHEMA = """
CREATE TABLE hosts (id int PRIMARY KEY, name text);
INSERT INTO hosts VALUES (1, 'a'), (2, 'b');
CREATE TABLE volumes (id int, host text, host_id int, size int, code text, secret text);
INSERT INTO volumes VALUES (1, 'h1', 1, 10, 'x', 's3cret'), (2, NULL, 9, -1, 'x', 's3cret'),
                           (2, 'H1', NULL, 5, NULL, 's3cret');
CREATE TABLE clean (LIKE volumes);
INSERT INTO clean VALUES (1, 'h1', 1, 10, 'x', 's3cret'), (2, 'h2', 2, 1, 'y', 's3cret'),
                         (3, 'h3', NULL, 5, NULL, 's3cret'), (4, 'h4', NULL, 6, NULL, 's3cret');
ALTER TABLE volumes ADD CONSTRAINT positive CHECK (size > 0) NOT VALID;
ALTER TABLE clean ADD CONSTRAINT positive CHECK (size > 0) NOT VALID;
ALTER TABLE volumes ADD CONSTRAINT host_known NOT NULL host NOT VALID;
ALTER TABLE clean ADD CONSTRAINT host_known NOT NULL host NOT VALID;
ALTER TABLE volumes ADD CONSTRAINT hosted FOREIGN KEY (host_id) REFERENCES hosts NOT VALID;
-- Inheritance children: a unique key or a foreign key added to the parent checks its own
-- rows only (this one duplicates clean's id, code and lower(host), and references host 9),
-- and a key is looked up in the referenced table's own rows (9 is no key of hosts).
CREATE TABLE clean_old () INHERITS (clean);
INSERT INTO clean_old VALUES (1, 'H2', 9, 7, 'y', 's3cret');
CREATE TABLE hosts_old () INHERITS (hosts);
INSERT INTO hosts_old VALUES (9, 'c');
"""


@pytest.fixture(scope="module")
def database(pg_server) -> Iterator[psycopg.Connection]:
    with module_database(pg_server, "dbsafe_row_refusals", SCHEMA) as conn:
        yield conn


def _verdicts(conn: psycopg.Connection, *statements: str, timeout: str = "10s"
              ) -> list[Verdict]:
    changes = RowChanges()
    changes.add("0005", [parse_statement(s) for s in statements])
    return probe_rows(conn, changes.checks.summary(), lock_timeout="1s", timeout=timeout)


def _postgresql_refuses(conn: psycopg.Connection, statement: str) -> bool:
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement)
    except psycopg.errors.IntegrityError:
        return True
    return False


@pytest.mark.parametrize(("statement", "volumes", "clean"), [
    ("ALTER TABLE {t} ALTER COLUMN host SET NOT NULL", "holds NULLs in 1 row(s)", None),
    ("ALTER TABLE {t} ADD CONSTRAINT sized CHECK (size > 0)",
     "fails CHECK (size > 0) in 1 row(s)", None),
    ("ALTER TABLE {t} ADD FOREIGN KEY (host_id) REFERENCES hosts",
     "references rows missing from hosts, e.g. key (9)", None),
    ("ALTER TABLE {t} ADD CONSTRAINT one_code UNIQUE (code)",
     "has duplicate unique key values, e.g. key (x)", None),
    # (two NULL codes in clean: as PostgreSQL treats them, distinct unless told otherwise)
    ("ALTER TABLE {t} ADD CONSTRAINT one_code UNIQUE NULLS NOT DISTINCT (code)",
     "has duplicate unique key values, e.g. key (x)",
     "has duplicate unique key values, e.g. key (NULL)"),
    ("ALTER TABLE {t} ADD PRIMARY KEY (id)",
     "has duplicate primary key values, e.g. key (2)", None),
    ("CREATE UNIQUE INDEX ux_host ON {t} (lower(host))",
     "has duplicate unique index values, e.g. key (h1)", None),
    ("CREATE UNIQUE INDEX ux_code ON {t} (code) WHERE size > 0",
     None, None),  # the duplicate x has size -1: outside the index
    ("ALTER TABLE {t} VALIDATE CONSTRAINT positive", "fails CHECK (size > 0) in 1 row(s)",
     None),
    ("ALTER TABLE {t} ADD CONSTRAINT host_id_set NOT NULL host_id",  # PostgreSQL 18's
     "holds NULLs in 1 row(s)", "holds NULLs in 2 row(s)"),
    ("ALTER TABLE {t} VALIDATE CONSTRAINT host_known", "holds NULLs in 1 row(s)", None),
], ids=["set not null", "check", "foreign key", "unique", "nulls not distinct",
        "primary key", "unique index", "partial unique index", "validate constraint",
        "not null constraint", "validate not null"])
def test_rows_refusing_a_statement_are_found_before_it_runs(
        statement: str, volumes: str | None, clean: str | None,
        database: psycopg.Connection) -> None:
    for table, expected in (("volumes", volumes), ("clean", clean)):
        sql = statement.format(t=table)
        verdicts = _verdicts(database, sql)

        refused = [v.detail for v in verdicts if v.outcome == "refused"]
        assert refused == ([expected] if expected else []), (table, verdicts)
        assert all(v.outcome in ("refused", "passes") for v in verdicts), verdicts
        assert all(v.subject.removeprefix("public.").startswith(table)
                   for v in verdicts), verdicts
        assert _postgresql_refuses(database, sql) is bool(expected), table
        assert not any("s3cret" in v.line() for v in verdicts)
        for refusal in (v for v in verdicts if v.outcome == "refused"):
            # the query the finding's help gives lists the rows that refuse it
            assert database.execute(refusal.find).fetchall(), refusal.find
            assert f"`{refusal.find}`" in (refusal_finding(refusal, allowed=False).help or "")


def test_a_primary_key_over_nulls_is_refused_for_them(database: psycopg.Connection) -> None:
    (nulls, _) = _verdicts(database, "ALTER TABLE volumes ADD PRIMARY KEY (host)")
    assert (nulls.subject, nulls.outcome, nulls.detail) == (
        "volumes.host", "refused", "holds NULLs in 1 row(s)")


def test_alter_table_only_names_the_table(database: psycopg.Connection) -> None:
    statement = "ALTER TABLE ONLY volumes VALIDATE CONSTRAINT positive"
    (verdict,) = _verdicts(database, statement)
    assert (verdict.subject, verdict.outcome, verdict.detail) == (
        "volumes", "refused", "fails CHECK (size > 0) in 1 row(s)")
    assert _postgresql_refuses(database, statement)


def test_a_data_migration_before_the_statement_makes_it_cannot_tell(
        database: psycopg.Connection) -> None:
    (verdict,) = _verdicts(database, "UPDATE volumes SET host = 'h2' WHERE host IS NULL",
                           "ALTER TABLE volumes ALTER COLUMN host SET NOT NULL")
    assert verdict.outcome == "cannot tell"
    assert verdict.detail == "0005 runs UPDATE on volumes before it: its rows are not today's"
    # (the last line counts it: "0 refused" alone reads as all clear)
    assert verdicts_summary([verdict], allowed=False) == (
        "rows: 1 validation(s) of the pending statements asked of the database's rows: "
        "0 refused, 1 cannot tell")
    # the table a foreign key references: 9 may be a key of hosts by then
    added, validated = _verdicts(database, "INSERT INTO hosts VALUES (9, 'c')",
                                 "ALTER TABLE volumes ADD FOREIGN KEY (host_id) REFERENCES hosts",
                                 "ALTER TABLE volumes VALIDATE CONSTRAINT hosted")
    assert (added.outcome, validated.outcome) == ("cannot tell", "cannot tell")
    assert validated.detail == "0005 runs INSERT on hosts before it: the rows it references " \
        "are not today's"


def test_a_table_or_constraint_the_plan_makes_cannot_be_told_and_a_new_table_is_empty(
        database: psycopg.Connection) -> None:
    missing, constraint, function = _verdicts(
        database, "ALTER TABLE elsewhere ALTER COLUMN host SET NOT NULL",
        "ALTER TABLE volumes VALIDATE CONSTRAINT made_later",
        "ALTER TABLE volumes ADD CHECK (made_later(size))")
    assert (missing.outcome, missing.detail) == (
        "cannot tell", 'relation "elsewhere" does not exist now, so it is made by the plan')
    assert constraint.outcome == function.outcome == "cannot tell"
    assert _verdicts(database, "CREATE TABLE fresh (id int)",
                     "ALTER TABLE fresh ADD PRIMARY KEY (id)") == []


def test_a_query_past_its_timeout_is_not_checked(database: psycopg.Connection) -> None:
    (verdict,) = _verdicts(database,
                           "ALTER TABLE clean ADD CHECK (pg_sleep(5) IS NOT NULL)",
                           timeout="50ms")
    assert (verdict.outcome, verdict.detail) == (
        "not checked", "the query ran past its statement timeout (50ms)")

"""A `DROP INDEX` of the plan before an INSERT or UPDATE whose rows the guard asks (DBS615,
`lint.row_checks`, `guard.inserted_rows`, `guard.updated_rows`) on real PostgreSQL: the
index's table is the database's to say (pg_index), and only a unique one of the statement's
table changes a verdict, to fewer refusals. Each verdict is held against PostgreSQL running
the statements, rolled back (task 583: notifications-api's 0551 drops an index of
`notifications`, and every later INSERT and UPDATE of the plan, of any table, said "cannot
tell")."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import postgresql_refuses, row_verdicts

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE rates (id int PRIMARY KEY, post_class text NOT NULL, sheets int NOT NULL,
                    end_date date);
CREATE UNIQUE INDEX ux_rates_class_sheets ON rates (post_class, sheets);
CREATE INDEX ix_rates_end ON rates (end_date);
INSERT INTO rates VALUES (1, 'economy', 1, NULL), (2, 'second', 1, NULL);
CREATE TABLE notifications (id int PRIMARY KEY, status text);
CREATE INDEX ix_notifications_failed ON notifications (status) WHERE status = 'failed';
CREATE SCHEMA other;
CREATE TABLE other.rates (id int PRIMARY KEY, post_class text NOT NULL UNIQUE);
"""


@pytest.mark.parametrize(("statements", "refused"), [
    # notifications-api's 0551: an index of another table dropped, the INSERT asked as alone
    (["DROP INDEX ix_notifications_failed",
      "INSERT INTO rates VALUES (3, 'economy', 1, NULL)"],
     ("rates (post_class, sheets)",
      "is given keys unique index ux_rates_class_sheets holds already, or twice, "
      "e.g. key (economy, 1)")),
    (["DROP INDEX ix_notifications_failed", "INSERT INTO rates VALUES (3, 'europe', 1, NULL)"],
     None),
    # a non-unique index of its own table: no key of it refuses a row
    (["DROP INDEX ix_rates_end", "INSERT INTO rates VALUES (3, 'economy', 1, NULL)"],
     ("rates (post_class, sheets)",
      "is given keys unique index ux_rates_class_sheets holds already, or twice, "
      "e.g. key (economy, 1)")),
    # the unique index dropped: its key refuses nothing, the primary key still does
    (["DROP INDEX ux_rates_class_sheets", "INSERT INTO rates VALUES (3, 'economy', 1, NULL)"],
     None),
    (["DROP INDEX ux_rates_class_sheets", "INSERT INTO rates VALUES (1, 'economy', 1, NULL)"],
     ("rates (id)", "is given keys unique index rates_pkey holds already, or twice, "
      "e.g. key (1)")),
    # written with its schema, and another schema's table of the name
    (["DROP INDEX public.ux_rates_class_sheets",
      "INSERT INTO rates VALUES (3, 'economy', 1, NULL)"], None),
    (["DROP INDEX ux_rates_class_sheets",
      "INSERT INTO other.rates VALUES (3, 'x'), (4, 'x')"],
     ("other.rates (post_class)", "is given keys unique index rates_post_class_key holds "
      "already, or twice, e.g. key (x)")),
    # an UPDATE likewise
    (["DROP INDEX ix_notifications_failed",
      "UPDATE rates SET post_class = 'economy' WHERE id = 2"],
     ("rates (post_class, sheets)",
      "is given keys unique index ux_rates_class_sheets holds already, or twice, "
      "e.g. key (economy, 1)")),
    (["DROP INDEX ux_rates_class_sheets",
      "UPDATE rates SET post_class = 'economy' WHERE id = 2"], None),
    # an index the plan made, then dropped: that table's (notifications), not rates'
    (["CREATE INDEX ix_made ON notifications (id)", "DROP INDEX ix_made",
      "INSERT INTO rates VALUES (3, 'economy', 1, NULL)"],
     ("rates (post_class, sheets)",
      "is given keys unique index ux_rates_class_sheets holds already, or twice, "
      "e.g. key (economy, 1)")),
    # IF EXISTS of an index there is none of: it drops nothing
    (["DROP INDEX IF EXISTS no_such_index", "INSERT INTO rates VALUES (3, 'europe', 1, NULL)"],
     None),
])
def test_an_index_dropped_before_a_write_changes_only_its_own_table_s_keys(
        database: psycopg.Connection, statements: list[str],
        refused: tuple[str, str] | None) -> None:
    verdicts = [v for v in row_verdicts(database, *statements, revision="0551")
                if v.sql == statements[-1]]

    assert [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"] == (
        [refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome != "passes"
            and v.outcome != "refused"] == [], verdicts
    assert postgresql_refuses(database, *statements,
                              refusals=psycopg.errors.IntegrityError) is bool(refused)


@pytest.mark.parametrize(("statements", "why"), [
    # an index there is none of now (nor the plan made): which table it is of is not told
    (["DROP INDEX no_such_index", "INSERT INTO rates VALUES (3, 'europe', 1, NULL)"],
     "0551 runs DROP INDEX no_such_index before it: no index no_such_index is there now"),
    # the table whose index the plan made and dropped: its shape is not today's
    (["CREATE UNIQUE INDEX ux_made ON notifications (status)", "DROP INDEX ux_made",
      "INSERT INTO notifications VALUES (9, 'failed')"],
     "0551 runs CREATE INDEX on notifications before it"),
    # dropped under another search_path than the INSERT's: which index it was is not told
    (["SET search_path TO other", "DROP INDEX rates_post_class_key",
      "SET search_path TO public", "INSERT INTO rates VALUES (3, 'europe', 1, NULL)"],
     "0551 runs DROP INDEX rates_post_class_key before it"),
])
def test_an_index_dropped_whose_table_is_not_told_leaves_the_write_untold(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    verdicts = [v for v in row_verdicts(database, *statements, revision="0551")
                if v.sql == statements[-1]]

    assert any(v.outcome == "cannot tell" and why in v.detail for v in verdicts), verdicts
    assert not [v for v in verdicts if v.outcome == "refused"]

"""Which tables an upgrade reads before its first revision (`guard.row_tables`), taken on
real PostgreSQL: partitions, tables referencing them, and what makes every table read."""

from __future__ import annotations

import psycopg
import pytest

from dbsafe.guard.row_tables import choose

pytestmark = pytest.mark.db

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.units (id int PRIMARY KEY, name text);
CREATE TABLE app.ingredients (id int PRIMARY KEY, unit_id int REFERENCES app.units);
CREATE TABLE app.notes (id int PRIMARY KEY, ingredient_id int REFERENCES app.ingredients);
CREATE TABLE app.events (at date NOT NULL, unit_id int) PARTITION BY RANGE (at);
CREATE TABLE app.events_2026 PARTITION OF app.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE app.unrelated (id int);
CREATE VIEW app.unit_names AS SELECT id, name FROM app.units;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE app.audited (id int);
CREATE TRIGGER audited_touch BEFORE UPDATE ON app.audited FOR EACH ROW
    EXECUTE FUNCTION app.touch();
"""


def _changes(*tables: str, functions: tuple[str, ...] = ()) -> dict[str, object]:
    return {"revisions": ["0005"], "tables": list(tables), "functions": list(functions)}


def test_the_tables_named_their_partitions_and_the_tables_referencing_them_are_read(
        database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        assert choose(conn, _changes("units"), ["0005"]).tables == (
            "app.ingredients", "app.notes", "app.units")
        assert choose(conn, _changes("app.events"), ["0005"]).tables == ("app.events_2026",)
        assert choose(conn, _changes(), ["0005"]).tables == ()
        # pg_catalog's functions change no table; the application's may change any.
        assert choose(conn, _changes("app.unrelated", functions=("lower", "pg_catalog.now")),
                      ["0005"]).tables == ("app.unrelated",)
        assert choose(conn, _changes("app.unrelated", functions=("app.lower",)),
                      ["0005"]).why == "the revisions call app.lower, which may change any table"


def test_a_view_or_a_trigger_on_a_table_named_reads_every_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        view = choose(conn, _changes("app.unit_names"), ["0005"])
        trigger = choose(conn, _changes("app.audited"), ["0005"])

    assert (view.tables, view.why) == (
        None, "the revisions write through view(s) app.unit_names")
    assert (trigger.tables, trigger.why) == (
        None, "triggers or rules on app.audited may write other tables")

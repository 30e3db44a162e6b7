"""Which tables an upgrade reads before its first revision (`guard.row_tables`), taken on
real PostgreSQL: partitions, tables referencing them, views' base tables, what triggers and
rules write, and what makes every table read."""

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


def test_a_view_written_through_reads_the_tables_it_reads(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        view = choose(conn, _changes("app.unit_names"), ["0005"])

    # Its base table, and the tables referencing that one.
    assert view.tables == ("app.ingredients", "app.notes", "app.units")


# Triggers and rules on the tables written, and what their statements write in turn.
FIRING = """
CREATE TABLE app.audit_log (id serial PRIMARY KEY, op text, row jsonb);
CREATE TABLE app.audit_notes (log_id int REFERENCES app.audit_log);
CREATE FUNCTION app.log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO app.audit_log (op, row) VALUES (TG_OP, to_jsonb(OLD));
    RETURN NULL;
END $$;
CREATE TABLE app.logged (id int);
CREATE TRIGGER logged_audit AFTER UPDATE OR DELETE ON app.logged FOR EACH ROW
    EXECUTE FUNCTION app.log_change();
CREATE TABLE app.deleted (id int);
CREATE TABLE app.soft (id int);
CREATE RULE soft_delete AS ON DELETE TO app.soft DO ALSO INSERT INTO app.deleted VALUES (OLD.id);
CREATE TABLE app.base (id int);
CREATE VIEW app.base_view AS SELECT id, 1 AS one FROM app.base;
CREATE FUNCTION app.base_view_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE app.soft SET id = NEW.id WHERE id = OLD.id;
    RETURN NEW;
END $$;
CREATE TRIGGER base_view_write INSTEAD OF UPDATE ON app.base_view FOR EACH ROW
    EXECUTE FUNCTION app.base_view_write();
CREATE FUNCTION app.log_to(name text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO app.audit_log (op) VALUES (name) $$;
CREATE FUNCTION app.dynamic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I VALUES ($1)', TG_ARGV[0]) USING NEW.id;
    RETURN NEW;
END $$;
CREATE FUNCTION app.through_a_function() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.log_to(TG_OP);
    RETURN NEW;
END $$;
CREATE TABLE app.dynamic_target (id int);
CREATE TRIGGER dynamic_copy AFTER INSERT ON app.dynamic_target FOR EACH ROW
    EXECUTE FUNCTION app.dynamic('app.deleted');
CREATE TABLE app.called_target (id int);
CREATE TRIGGER called AFTER INSERT ON app.called_target FOR EACH ROW
    EXECUTE FUNCTION app.through_a_function();
"""


def test_a_trigger_changing_only_its_row_reads_only_the_table_written(database_url: str
                                                                      ) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)

        choice = choose(conn, _changes("app.audited"), ["0005"])

    assert (choice.tables, choice.why) == (
        ("app.audited",), "the tables the pending revisions may change (app.audited)")


def test_the_tables_a_trigger_or_rule_writes_are_read_with_theirs(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + FIRING)

        # The audit trigger's table, and the table referencing that one.
        assert choose(conn, _changes("logged"), ["0005"]).tables == (
            "app.audit_log", "app.audit_notes", "app.logged")
        # The rule's action's table.
        assert choose(conn, _changes("app.soft"), ["0005"]).tables == (
            "app.deleted", "app.soft")
        # Through a view: its base table, and what its INSTEAD OF trigger writes (app.soft),
        # whose rule writes app.deleted.
        assert choose(conn, _changes("app.base_view"), ["0005"]).tables == (
            "app.base", "app.deleted", "app.soft")


def test_a_trigger_whose_writes_cannot_be_told_reads_every_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA + FIRING)

        dynamic = choose(conn, _changes("app.dynamic_target"), ["0005"])
        called = choose(conn, _changes("app.called_target"), ["0005"])

    assert (dynamic.tables, dynamic.why) == (
        None, "trigger dynamic_copy on app.dynamic_target runs app.dynamic(), which builds SQL "
        "at run time (EXECUTE)")
    assert (called.tables, called.why) == (
        None, "trigger called on app.called_target runs app.through_a_function(), which calls "
        "app.log_to, which may change any table")

"""The rows an `INSERT ... SELECT` (or `VALUES`) of a pending revision would insert, asked of
its table's constraints (`guard.inserted_rows`, DBS615) on real PostgreSQL: each verdict held
against what PostgreSQL does when the INSERT runs, in a transaction rolled back (task 551:
Renku's 584598f3b769 inserted NULLs into a NOT NULL column, and the preflight said nothing)."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import postgresql_refuses, row_verdicts

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE owners (id int PRIMARY KEY);
INSERT INTO owners VALUES (1);
CREATE TABLE launchers (id text PRIMARY KEY, image text, env_id int, owner int);
INSERT INTO launchers VALUES ('a', 'img', NULL, 1), ('b', NULL, NULL, 1), ('c', 'x', 1, NULL);
CREATE DOMAIN port_number AS int CHECK (VALUE BETWEEN 1 AND 65535);
CREATE TABLE environments (id serial PRIMARY KEY, name text NOT NULL UNIQUE,
                           image varchar(10) NOT NULL, port int CHECK (port > 0),
                           kind text NOT NULL DEFAULT 'GLOBAL', owner int REFERENCES owners,
                           listen port_number, label text);
INSERT INTO environments (name, image) VALUES ('taken', 'i');
-- no constraint: nothing inserted is refused
CREATE TABLE logged (id text, note text);
-- a NOT NULL column without a DEFAULT, left out by the INSERT; a NOT NULL domain's
CREATE TABLE labelled (id text, label text NOT NULL);
CREATE DOMAIN required AS text NOT NULL;
CREATE TABLE tagged (id text, tag required);
-- a BEFORE INSERT trigger filling the NOT NULL column: PostgreSQL inserts the rows
CREATE TABLE filled (id text, image text NOT NULL);
CREATE FUNCTION fill() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.image := coalesce(NEW.image, 'default'); RETURN NEW; END$$;
CREATE TRIGGER fill BEFORE INSERT ON filled FOR EACH ROW EXECUTE FUNCTION fill();
"""


@pytest.mark.parametrize(("statement", "refused"), [
    # Renku's 584598f3b769: NULL images of the launchers without an environment
    ("INSERT INTO environments (name, image) SELECT id, image FROM launchers "
     "WHERE env_id IS NULL",
     ("environments.image", "is given NULLs (NOT NULL) in 1 row(s)")),
    ("INSERT INTO environments (name, image, port) SELECT id, 'i', -1 FROM launchers",
     ("environments (environments_port_check)",
      "is given rows failing CHECK (port > 0) in 3 row(s)")),
    ("INSERT INTO environments (name, image) SELECT 'taken', image FROM launchers "
     "WHERE id = 'a'",
     ("environments (name)",
      "is given keys unique index environments_name_key holds already, or twice, "
      "e.g. key (taken)")),
    ("INSERT INTO environments (name, image) SELECT 'twice', 'i' FROM launchers",
     ("environments (name)",
      "is given keys unique index environments_name_key holds already, or twice, "
      "e.g. key (twice)")),
    ("INSERT INTO environments (name, image, owner) SELECT id, 'i', 9 FROM launchers "
     "WHERE id = 'a'",
     ("environments (owner)", "references rows missing from owners, e.g. key (9)")),
    # varchar(10): a value too long refuses, as an INSERT assigns it (a CAST would cut it)
    ("INSERT INTO environments (name, image) SELECT id, image || ' is too long' "
     "FROM launchers WHERE id = 'a'",
     ("environments", "is given values its columns' types refuse (22001 "
      "string_data_right_truncation)")),
    ("INSERT INTO environments (name, image, listen) SELECT id, 'i', 0 FROM launchers",
     ("environments", "is given values its columns' types refuse (23514 check_violation: "
      "constraint port_number_check, type port_number)")),
    # a column left out, without a DEFAULT
    ("INSERT INTO labelled (id) SELECT id FROM launchers",
     ("labelled.label", "is given NULLs (NOT NULL) in 3 row(s)")),
    ("INSERT INTO tagged (id) SELECT id FROM launchers",
     ("tagged", "is given values its columns' types refuse (23502 not_null_violation: "
      "type required)")),
    # VALUES: a key the table holds already
    ("INSERT INTO environments (name, image) VALUES ('taken', 'i')",
     ("environments (name)",
      "is given keys unique index environments_name_key holds already, or twice, "
      "e.g. key (taken)")),
    # what passes: the rows with an image, an owner there, fresh keys, a DEFAULT filled
    ("INSERT INTO environments (name, image, owner, listen) SELECT id, image, owner, 8080 "
     "FROM launchers WHERE image IS NOT NULL", None),
    ("INSERT INTO environments (name, image) VALUES ('taken', 'i') ON CONFLICT DO NOTHING",
     None),
    ("INSERT INTO environments SELECT 7, 'new', 'i' FROM launchers WHERE id = 'a'", None),
])
def test_rows_an_insert_gives_are_asked_of_the_table_s_constraints(
        database: psycopg.Connection, statement: str, refused: tuple[str, str] | None
        ) -> None:
    verdicts = row_verdicts(database, statement)

    said = [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"]
    assert said[:1] == ([refused] if refused else []), verdicts
    # (past a value its column refuses, the rest is not asked: the INSERT fails there)
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")
            and not v.detail.startswith("the values do not cast")] == []
    assert postgresql_refuses(database, statement) is bool(refused)


def test_the_rows_a_refusal_names_are_found_by_its_query(database: psycopg.Connection
                                                         ) -> None:
    (verdict,) = [v for v in row_verdicts(
        database, "INSERT INTO environments (name, image) SELECT id, image FROM launchers "
        "WHERE env_id IS NULL") if v.outcome == "refused"]

    # (the row inserted: name, image, port, kind's DEFAULT, owner, listen, label; not the
    # serial's id, a new value the probe does not take)
    assert database.execute(verdict.find).fetchall() == [
        ("b", None, None, "GLOBAL", None, None, None)]


@pytest.mark.parametrize(("statements", "why"), [
    # a volatile function: its values at the upgrade are not the probe's
    (["INSERT INTO environments (name, image) SELECT md5(random()::text), image "
      "FROM launchers"], "its SELECT calls random(), a volatile function"),
    (["INSERT INTO filled SELECT id, image FROM launchers"],
     "trigger fill of filled runs BEFORE INSERT FOR EACH ROW"),
    # the rows it reads are not today's: an UPDATE of the plan before it
    (["UPDATE launchers SET image = 'x' WHERE image IS NULL",
      "INSERT INTO environments (name, image) SELECT id, image FROM launchers"],
     "0005 runs UPDATE on launchers before it"),
    # the table's columns are not today's: the plan adds one before it
    (["ALTER TABLE environments ADD COLUMN extra text",
      "INSERT INTO environments (name, image) SELECT id, image FROM launchers"],
     "0005 runs ALTER TABLE on environments before it: the columns and constraints of "
     "environments it meets are not today's"),
    # another table's foreign key to it, added before it: said as that table's statement
    # (hypothesis/h's `mention` was said as "runs ALTER TABLE on annotation", task 566)
    (["ALTER TABLE logged ADD COLUMN env text REFERENCES environments (name)",
      "INSERT INTO environments (name, image) SELECT id, image FROM launchers"],
     "0005 runs ALTER TABLE on logged, naming environments, before it"),
    (["INSERT INTO environments (name, image) SELECT id, 'i' FROM launchers "
      "ON CONFLICT (name) DO UPDATE SET image = excluded.image"],
     "ON CONFLICT: which rows it inserts, and updates, is not asked"),
    # an INSERT after another into the same table, reading a table: its keys alone cannot
    # be told (a seed's VALUES after another's are, task 583: below)
    (["INSERT INTO environments (name, image) SELECT id, 'i' FROM launchers",
      "INSERT INTO environments (name, image) VALUES ('two', 'i')"],
     "0005 runs INSERT on environments before it: the keys its rows hold are not today's"),
    # an UPDATE of the key before it
    (["UPDATE environments SET name = 'one' WHERE name = 'taken'",
      "INSERT INTO environments (name, image) VALUES ('taken', 'i')"],
     "the keys its rows hold are not today's (an UPDATE before it sets name)"),
    # a seed giving the serial's column its own value, then one leaving it to the sequence,
    # whose next value it is: PostgreSQL refuses it (23505), the guard cannot tell
    (["INSERT INTO environments (id, name, image) VALUES (2, 'one', 'i')",
      "INSERT INTO environments (name, image) VALUES ('two', 'i')"],
     "its column id takes new values, and an INSERT before it gives the column its own"),
])
def test_an_insert_whose_rows_cannot_be_told_is_said_so(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    verdicts = row_verdicts(database, *statements)

    assert any(v.outcome == "cannot tell" and why in v.detail for v in verdicts), verdicts
    assert not [v for v in verdicts if v.outcome == "refused"]


def test_a_seed_insert_after_another_is_asked_all_but_its_keys(database: psycopg.Connection
                                                               ) -> None:
    first, second = ("INSERT INTO environments (name, image) SELECT id, 'i' FROM launchers",
                     "INSERT INTO environments (name, image) VALUES ('two', NULL)")
    verdicts = [(v.subject, v.outcome) for v in row_verdicts(database, first, second)
                if v.sql == second]

    assert ("environments.image", "refused") in verdicts
    assert ("environments (name)", "cannot tell") in verdicts  # (its key)
    assert postgresql_refuses(database, second)


@pytest.mark.parametrize(("statements", "refused"), [
    # seeds' VALUES: each held against today's keys and those the INSERTs before it give
    (["INSERT INTO environments (name, image) VALUES ('one', 'i')",
      "INSERT INTO environments (name, image) VALUES ('two', 'i')"], None),
    (["INSERT INTO environments (name, image) VALUES ('one', 'i')",
      "INSERT INTO environments (name, image) VALUES ('two', 'i')",
      "INSERT INTO environments (name, image) VALUES ('one', 'j')"],
     ("environments (name)", "is given keys unique index environments_name_key holds "
      "already, or twice, e.g. key (one)")),
    (["INSERT INTO environments (name, image) VALUES ('one', 'i')",
      "INSERT INTO environments (name, image) VALUES ('taken', 'j')"],
     ("environments (name)", "is given keys unique index environments_name_key holds "
      "already, or twice, e.g. key (taken)")),
    # notifications-api's 0543: an UPDATE of columns no unique key holds, then the rates
    (["UPDATE environments SET label = 'old' WHERE label IS NULL",
      "INSERT INTO environments (name, image) VALUES ('new', 'i')",
      "INSERT INTO environments (name, image) VALUES ('newer', 'i')"], None),
    (["UPDATE environments SET label = 'old' WHERE label IS NULL",
      "INSERT INTO environments (name, image) VALUES ('new', 'i')",
      "INSERT INTO environments (name, image) VALUES ('new', 'i')"],
     ("environments (name)", "is given keys unique index environments_name_key holds "
      "already, or twice, e.g. key (new)")),
    # (every row's label set to a constant: as any UPDATE of it)
    (["UPDATE environments SET label = 'old'",
      "INSERT INTO environments (name, image) VALUES ('taken', 'i')"],
     ("environments (name)", "is given keys unique index environments_name_key holds "
      "already, or twice, e.g. key (taken)")),
    # a table with no unique key: a seed after another has no key to tell
    (["INSERT INTO labelled VALUES ('a', 'x')", "INSERT INTO labelled VALUES ('a', 'y')"],
     None),
    (["INSERT INTO labelled VALUES ('a', 'x')", "INSERT INTO labelled (id) VALUES ('b')"],
     ("labelled.label", "is given NULLs (NOT NULL) in 1 row(s)")),
])
def test_a_seed_insert_after_the_plan_s_writes_is_held_against_their_keys(
        database: psycopg.Connection, statements: list[str],
        refused: tuple[str, str] | None) -> None:
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]

    assert [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"] == (
        [refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")] == []
    assert postgresql_refuses(database, *statements,
                              refusals=psycopg.errors.IntegrityError) is bool(refused)


def test_a_seed_insert_after_another_under_other_settings_is_not_held_against_it(
        database: psycopg.Connection) -> None:
    # (a literal read under another TimeZone is another value: the keys are not compared)
    verdicts = row_verdicts(database,
                            "INSERT INTO environments (name, image) VALUES ('a', 'i')",
                            "SET TimeZone TO 'UTC'",
                            "INSERT INTO environments (name, image) VALUES ('b', 'i')")

    assert sorted(v.subject for v in verdicts if v.outcome == "cannot tell") == [
        "environments (id)", "environments (name)"], verdicts


@pytest.mark.parametrize("statements", [
    # no constraint: nothing to ask, even after a data statement of the plan
    ["INSERT INTO logged SELECT id, image FROM launchers"],
    ["UPDATE launchers SET image = NULL", "INSERT INTO logged SELECT id, image FROM launchers"],
    # a table the plan makes with no constraint
    ["CREATE TABLE step_5 (id text, at timestamptz DEFAULT now())",
     "INSERT INTO step_5 (id) SELECT id FROM launchers"],
])
def test_an_insert_no_row_can_refuse_asks_nothing(database: psycopg.Connection,
                                                  statements: list[str]) -> None:
    assert row_verdicts(database, *statements) == []

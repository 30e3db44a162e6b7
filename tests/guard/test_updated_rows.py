"""The rows an `UPDATE ... SET` of a pending revision would write, asked of its table's
constraints (`guard.updated_rows`, DBS615) on real PostgreSQL: each verdict held against what
PostgreSQL does when the UPDATE runs, in a transaction rolled back (task 555: an UPDATE
setting a NOT NULL or CHECKed column was a silent pass, and the upgrade failed on the rows)."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import postgresql_refuses, row_verdicts

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE owners (id int PRIMARY KEY);
INSERT INTO owners VALUES (1), (2);
CREATE DOMAIN port_number AS int CHECK (VALUE BETWEEN 1 AND 65535);
CREATE TABLE jobs (id int PRIMARY KEY, name varchar(10) NOT NULL UNIQUE,
                   owner int REFERENCES owners, port int CHECK (port > 0),
                   listen port_number, note text, legacy text);
INSERT INTO jobs VALUES (1, 'a', 1, 80, 80, 'x', NULL), (2, 'b', 2, 81, 81, NULL, NULL),
                        (3, 'c', NULL, 82, 82, 'z', 'old');
CREATE TABLE archived (id int, note text, legacy text);
INSERT INTO archived VALUES (1, 'x', NULL), (2, 'y', 'old');
ALTER TABLE archived ADD CONSTRAINT legacy_gone CHECK (legacy IS NULL) NOT VALID;
-- a foreign key NOT VALID: PostgreSQL checks it only where an UPDATE changes the key
ALTER TABLE archived ADD COLUMN owner int;
UPDATE archived SET owner = 9 WHERE id = 1;
ALTER TABLE archived ADD CONSTRAINT archived_owner FOREIGN KEY (owner) REFERENCES owners
  NOT VALID;
CREATE TABLE renames (job int, name text);
INSERT INTO renames VALUES (1, 'b'), (2, 'q'), (3, 'r'), (3, 's');
CREATE TABLE steps (id int PRIMARY KEY, job int REFERENCES jobs);
-- defaults an UPDATE sets `= DEFAULT` (task 559)
CREATE DOMAIN required AS text NOT NULL;
CREATE TABLE tiers (id int PRIMARY KEY, level int NOT NULL DEFAULT 5 CHECK (level > 0),
                    floor int DEFAULT 0 CHECK (floor > 0), code serial UNIQUE, tag required,
                    label text NOT NULL);
INSERT INTO tiers (id, level, floor, tag, label) VALUES (1, 1, 1, 't', 'l');
CREATE TABLE touched (id int, image text NOT NULL);
INSERT INTO touched VALUES (1, 'i');
CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.image := coalesce(NEW.image, OLD.image); RETURN NEW; END$$;
CREATE TRIGGER keep BEFORE UPDATE ON touched FOR EACH ROW EXECUTE FUNCTION keep();
-- an enum the plan adds a label to (task 572)
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE feelings (id int, mood mood NOT NULL, CHECK (mood <> 'sad' OR id > 1));
INSERT INTO feelings VALUES (1, 'ok'), (2, 'sad');
"""


@pytest.mark.parametrize(("statement", "refused"), [
    ("UPDATE jobs SET name = note WHERE id > 1",
     ("jobs.name", "is given NULLs (NOT NULL) in 1 row(s)")),
    ("UPDATE jobs SET port = port - 81",
     ("jobs (jobs_port_check)", "is given rows failing CHECK (port > 0) in 2 row(s)")),
    # a key the rows it keeps hold, or two rows it updates share
    ("UPDATE jobs SET name = 'a' WHERE id = 3",
     ("jobs (name)", "is given keys unique index jobs_name_key holds already, or twice, "
      "e.g. key (a)")),
    ("UPDATE jobs SET name = 'same' WHERE id > 1",
     ("jobs (name)", "is given keys unique index jobs_name_key holds already, or twice, "
      "e.g. key (same)")),
    ("UPDATE jobs SET owner = owner + 5 WHERE id = 1",
     ("jobs (owner)", "references rows missing from owners, e.g. key (6)")),
    # varchar(10): too long a value refuses, as an UPDATE assigns it
    ("UPDATE jobs SET name = name || ' is far too long'",
     ("jobs", "is given values its columns' types refuse (22001 "
      "string_data_right_truncation)")),
    ("UPDATE jobs SET listen = 0 WHERE id = 2",
     ("jobs", "is given values its columns' types refuse (23514 check_violation: "
      "constraint port_number_check, type port_number)")),
    # a CHECK NOT VALID over a column it leaves: PostgreSQL checks each new row
    ("UPDATE archived SET note = 'n'",
     ("archived (legacy_gone)", "is given rows failing CHECK (legacy IS NULL) in 1 row(s)")),
    # UPDATE ... FROM, one row joined each
    ("UPDATE jobs j SET name = r.name FROM renames r WHERE r.job = j.id AND j.id = 1",
     ("jobs (name)", "is given keys unique index jobs_name_key holds already, or twice, "
      "e.g. key (b)")),
    # a row of columns set at once, as each set alone (task 559)
    ("UPDATE jobs SET (name, note) = (note, name) WHERE id > 1",
     ("jobs.name", "is given NULLs (NOT NULL) in 1 row(s)")),
    ("UPDATE jobs SET (name, port) = ROW('zz', 0) WHERE id = 3",
     ("jobs (jobs_port_check)", "is given rows failing CHECK (port > 0) in 1 row(s)")),
    ("UPDATE jobs SET (port, note) = (SELECT -1, 'n') WHERE id = 1",
     ("jobs (jobs_port_check)", "is given rows failing CHECK (port > 0) in 1 row(s)")),
    ("UPDATE jobs SET (note, name) = (SELECT r.name, 'a' FROM renames r WHERE r.job = jobs.id) "
     "WHERE id = 2",
     ("jobs (name)", "is given keys unique index jobs_name_key holds already, or twice, "
      "e.g. key (a)")),
    # `= DEFAULT`: the column's default, NULL without one (task 559)
    ("UPDATE jobs SET name = DEFAULT WHERE id = 1",
     ("jobs.name", "is given NULLs (NOT NULL) in 1 row(s)")),
    ("UPDATE tiers SET floor = DEFAULT",
     ("tiers (tiers_floor_check)", "is given rows failing CHECK (floor > 0) in 1 row(s)")),
    ("UPDATE tiers SET (label, level) = (DEFAULT, 2)",
     ("tiers.label", "is given NULLs (NOT NULL) in 1 row(s)")),
    ("UPDATE tiers SET tag = DEFAULT",
     ("tiers", "is given values its columns' types refuse (23502 not_null_violation: "
      "type required)")),
    # what passes: a swap of keys among the rows it updates, new keys, NULLs where allowed
    ("UPDATE jobs SET name = upper(name)", None),
    ("UPDATE jobs SET name = CASE name WHEN 'a' THEN 'b' ELSE 'a' END WHERE id < 3 "
     "AND false", None),
    ("UPDATE jobs SET owner = NULL, port = port + 1 WHERE id = 1", None),
    ("UPDATE jobs j SET name = r.name FROM renames r WHERE r.job = j.id AND j.id = 2", None),
    ("UPDATE archived SET legacy = NULL, note = 'n'", None),
    ("UPDATE archived SET note = 'n' WHERE id = 1", None),
    ("UPDATE jobs SET (name, note) = (SELECT 'x', 'y') WHERE id = 1", None),
    ("UPDATE jobs SET (port, note) = (SELECT j.port + 1, 'n' FROM jobs j WHERE j.id = jobs.id)",
     None),
    ("UPDATE tiers SET level = DEFAULT, floor = 3", None),
    ("UPDATE tiers SET (level, floor) = (DEFAULT, 2)", None),
    ("UPDATE tiers SET code = DEFAULT", None),
])
def test_rows_an_update_writes_are_asked_of_the_table_s_constraints(
        database: psycopg.Connection, statement: str, refused: tuple[str, str] | None
        ) -> None:
    verdicts = row_verdicts(database, statement)

    said = [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"]
    assert said[:1] == ([refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")
            and not v.detail.startswith("the values do not cast")] == []
    assert verdicts  # (asked: no silent pass)
    assert postgresql_refuses(database, statement) is bool(refused)


def test_the_rows_a_refusal_names_are_found_by_its_query(database: psycopg.Connection
                                                         ) -> None:
    (verdict,) = [v for v in row_verdicts(database, "UPDATE jobs SET name = note WHERE id > 1")
                  if v.outcome == "refused"]

    # (the row as the UPDATE writes it, and which one it is)
    assert [row[:7] for row in database.execute(verdict.find).fetchall()] == [
        (2, None, 2, 81, 81, None, None)]


@pytest.mark.parametrize(("statements", "why"), [
    (["UPDATE jobs SET port = (random() * 10)::int + 1"],
     "its SET or WHERE calls random(), a volatile function"),
    (["UPDATE touched SET image = NULL"],
     "trigger keep of touched runs BEFORE UPDATE FOR EACH ROW"),
    # the rows it updates are not today's: an UPDATE of the plan before it
    (["UPDATE jobs SET note = NULL", "UPDATE jobs SET name = note"],
     "0005 runs UPDATE on jobs before it"),
    # what the expression reads is not today's
    (["DELETE FROM renames WHERE job = 3",
      "UPDATE jobs j SET name = r.name FROM renames r WHERE r.job = j.id"],
     "0005 runs DELETE on renames before it"),
    (["ALTER TABLE jobs ADD COLUMN extra text", "UPDATE jobs SET name = extra"],
     "0005 runs ALTER TABLE on jobs before it: the columns and constraints of jobs it meets "
     "are not today's"),
    # said by PostgreSQL's command tag, never the parse node's name (irrd's 0548f1aa4f10 said
    # "runs AlterEnum", task 558)
    (["ALTER TYPE mood RENAME VALUE 'sad' TO 'low'", "UPDATE jobs SET name = note"],
     "0005 runs ALTER TYPE before it: the columns and constraints of jobs it meets"),
    # a label the plan adds, which the database's type lacks now (task 572)
    (["ALTER TYPE mood ADD VALUE 'calm'", "UPDATE feelings SET mood = 'calm'"],
     "0005 adds the label 'calm' to mood before it: a value fails to cast (22P02)"),
    (["ALTER TYPE mood ADD VALUE 'calm'",
      "UPDATE feelings SET mood = enum_last(NULL::mood) WHERE id = 1"],
     "0005 adds the label 'calm' to mood before it, and it calls enum_last()"),
    (["CREATE TRIGGER t BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION keep()",
      "UPDATE jobs SET name = note"], "0005 runs CREATE TRIGGER on jobs before it"),
    # (an index of the database's: its table's unique keys the guard reads, task 583; one
    # there is none of now: any table's)
    (["DROP INDEX no_such_index", "UPDATE jobs SET name = note"],
     "0005 runs DROP INDEX no_such_index before it"),
    # job 3 joins two renames: PostgreSQL takes either
    (["UPDATE jobs j SET name = r.name FROM renames r WHERE r.job = j.id AND j.id = 3"],
     "UPDATE ... FROM joins a row to more than one"),
    # 1 -> 2 while 2 is there: a unique key checked row by row fails or not by their order
    (["UPDATE jobs SET id = id + 1"], "checks each row as it comes"),
    # a key steps references
    (["UPDATE jobs SET id = id + 10"], "foreign key steps_job_fkey of steps references a key"),
    # a foreign key NOT VALID: checked only where the key changes (owner = owner: not)
    (["UPDATE archived SET owner = owner WHERE id = 1"],
     "a foreign key NOT VALID is checked only in the rows whose key the UPDATE changes"),
])
def test_an_update_whose_rows_cannot_be_told_is_said_so(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    verdicts = row_verdicts(database, *statements)

    assert any(v.outcome == "cannot tell" and why in v.detail for v in verdicts), verdicts
    assert not [v for v in verdicts if v.outcome == "refused"]


@pytest.mark.parametrize("statements", [
    # nothing it sets is constrained
    ["UPDATE jobs SET legacy = NULL WHERE false"],
    ["UPDATE renames SET name = NULL"],
    ["UPDATE jobs SET note = 'n'", "UPDATE renames SET name = NULL"],
])
def test_an_update_of_unconstrained_columns_asks_nothing(database: psycopg.Connection,
                                                         statements: list[str]) -> None:
    assert [v for v in row_verdicts(database, *statements)
            if v.sql == statements[-1]] == []


@pytest.mark.parametrize(("statements", "why"), [
    # postgresus's 20251031155005 `UPDATE databases SET workspace_id = ...` after
    # 20250710122028 added a foreign key of backup_configs referencing databases: said
    # "...: the columns and constraints of databases it meets are not today's: its rows are
    # not today's", a second reason lint never gave (task 578)
    (["ALTER TABLE steps ADD CONSTRAINT steps_owner FOREIGN KEY (id) REFERENCES owners",
      "UPDATE owners SET id = id"],
     "0005 runs ALTER TABLE on steps, naming owners, before it: the columns and constraints "
     "of owners it meets are not today's"),
    (["ALTER TABLE jobs ADD COLUMN extra text", "UPDATE jobs SET name = extra"],
     "0005 runs ALTER TABLE on jobs before it: the columns and constraints of jobs it meets "
     "are not today's"),
    (["ALTER TABLE jobs ADD COLUMN extra text",
      "INSERT INTO jobs (id, name) SELECT 9, extra FROM jobs"],
     "0005 runs ALTER TABLE on jobs before it: the columns and constraints of jobs it meets "
     "are not today's"),
    # (the rows an earlier UPDATE changed: said so, once)
    (["UPDATE jobs SET note = NULL", "UPDATE jobs SET name = note"],
     "0005 runs UPDATE on jobs before it: its rows are not today's"),
])
def test_a_cannot_tell_says_what_is_not_today_s_once(database: psycopg.Connection,
                                                      statements: list[str], why: str) -> None:
    assert [v.detail for v in row_verdicts(database, *statements)
            if v.sql == statements[-1]] == [why]


# Task 572: `ALTER TYPE ... ADD VALUE` (bionic-gpt's file 69) made every later data statement
# `cannot tell`, though it changes no row and no constraint: they are asked.
@pytest.mark.parametrize(("statements", "refused"), [
    (["ALTER TYPE mood ADD VALUE 'calm'", "UPDATE jobs SET name = note WHERE id > 1"],
     ("jobs.name", "is given NULLs (NOT NULL) in 1 row(s)")),
    (["ALTER TYPE mood ADD VALUE 'calm' BEFORE 'sad'", "UPDATE feelings SET id = 0"],
     ("feelings (feelings_check)", "is given rows failing CHECK (mood <> CAST('sad' AS mood) OR "
      "id > 1) in 1 row(s)")),
    (["ALTER TYPE mood ADD VALUE 'calm'", "UPDATE feelings SET id = id + 1"], None),
    (["ALTER TYPE mood ADD VALUE 'calm'", "DELETE FROM owners WHERE id = 2"],
     ("jobs (jobs_owner_fkey)", "references rows it deletes (ON DELETE NO ACTION) in 1 "
      "row(s)")),
    (["ALTER TYPE mood ADD VALUE 'calm'", "INSERT INTO feelings VALUES (0, 'sad')"],
     ("feelings (feelings_check)", "is given rows failing CHECK (mood <> CAST('sad' AS mood) OR "
      "id > 1) in 1 row(s)")),
])
def test_the_rows_after_an_enum_label_added_are_asked(
        database: psycopg.Connection, statements: list[str],
        refused: tuple[str, str] | None) -> None:
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]

    assert [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"] == (
        [refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")] == []
    assert verdicts
    assert postgresql_refuses(database, *statements) is bool(refused)


def test_a_check_naming_a_label_the_plan_adds_is_not_refused(
        database: psycopg.Connection) -> None:
    # today's type lacks 'calm' (22P02 over any row): it was refused, `has values ... 22P02`
    statements = ["ALTER TYPE mood ADD VALUE 'calm'",
                  "ALTER TABLE feelings ADD CONSTRAINT not_calm CHECK (mood <> 'calm')"]
    (verdict,) = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]

    assert (verdict.outcome, verdict.detail) == ("cannot tell", (
        "0005 adds the label 'calm' to mood before it: a value fails to cast (22P02), which "
        "may be that label, one the type lacks now"))

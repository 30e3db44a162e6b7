"""A constraint after a data statement of the plan wrote its table, where the rows it meets
can still be told from today's (task 596): an `UPDATE t SET c = <expression of the row>
[WHERE w]` before `SET NOT NULL` or `ADD CHECK` (the backfill shape: neosync's `CASE` with
no `ELSE`), `DELETE FROM t WHERE w` before `SET NOT NULL`, `ADD CHECK` or a unique index, and
a plain `CREATE TABLE` after a DO block. Each verdict is held against PostgreSQL running the
statements, in a transaction rolled back, as tests/guard/test_deleted_rows.py does."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import postgresql_refuses, row_verdicts

pytestmark = pytest.mark.db

SCHEMA = """
-- neosync's transformers: `source` mapped to `source_id` by a CASE with no ELSE
CREATE TABLE transformers (id int PRIMARY KEY, source text, source_id int);
INSERT INTO transformers VALUES (1, 'a', NULL), (2, 'b', NULL), (3, 'zz', NULL), (4, NULL, 7);
CREATE TABLE jobs (id int PRIMARY KEY, state text, tries int, owner text);
INSERT INTO jobs VALUES (1, 'done', 0, 'x'), (2, NULL, 3, NULL), (3, 'failed', NULL, 'y');
-- rows a DELETE removes first
CREATE TABLE sessions (id int PRIMARY KEY, token text, user_id int, kind text);
INSERT INTO sessions VALUES (1, 't1', 1, 'web'), (2, 't1', 2, NULL), (3, NULL, 3, 'api'),
                            (4, 't2', NULL, 'web');
-- a BEFORE UPDATE trigger may change what the UPDATE writes
CREATE TABLE audited (id int PRIMARY KEY, note text);
INSERT INTO audited VALUES (1, NULL);
CREATE FUNCTION blank() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.note := NULL; RETURN NEW; END$$;
CREATE TRIGGER blank BEFORE UPDATE ON audited FOR EACH ROW EXECUTE FUNCTION blank();
-- a table with an inheritance child: its rows are the child's too
CREATE TABLE events (id int, kind text);
CREATE TABLE events_old () INHERITS (events);
INSERT INTO events_old VALUES (1, NULL);
"""


NEOSYNC = ("UPDATE transformers SET source_id = CASE source WHEN 'a' THEN 1 WHEN 'b' THEN 2 "
           "END WHERE source IS NOT NULL")


@pytest.mark.parametrize(("statements", "refused"), [
    # the backfill leaves 'zz' unmapped: NULL (no ELSE), which the NOT NULL refuses
    ([NEOSYNC, "ALTER TABLE transformers ALTER COLUMN source_id SET NOT NULL"],
     ("transformers.source_id", "holds NULLs in 1 row(s)")),
    ([NEOSYNC.replace("END", "ELSE 0 END"),
      "ALTER TABLE transformers ALTER COLUMN source_id SET NOT NULL"], None),
    # (a row its WHERE leaves keeps its value: 4's 7)
    (["UPDATE transformers SET source_id = 0 WHERE source_id IS NULL",
      "ALTER TABLE transformers ALTER COLUMN source_id SET NOT NULL"], None),
    (["UPDATE transformers SET source_id = 0 WHERE source <> 'zz'",
      "ALTER TABLE transformers ALTER COLUMN source_id SET NOT NULL"],
     ("transformers.source_id", "holds NULLs in 1 row(s)")),
    # (a WHERE NULL of a row leaves it: jobs 2's NULL state keeps its NULL owner)
    (["UPDATE jobs SET owner = 'nobody' WHERE state <> 'done'",
      "ALTER TABLE jobs ALTER COLUMN owner SET NOT NULL"],
     ("jobs.owner", "holds NULLs in 1 row(s)")),
    (["UPDATE jobs SET owner = coalesce(owner, 'nobody')",
      "ALTER TABLE jobs ALTER COLUMN owner SET NOT NULL"], None),
    # (each SET reads the row as it was: tries from the old state)
    (["UPDATE jobs j SET state = coalesce(j.state, 'new'), tries = CASE WHEN j.state IS NULL "
      "THEN 0 END", "ALTER TABLE jobs ADD CONSTRAINT tried CHECK (tries >= 0)"], None),
    (["UPDATE jobs SET tries = tries - 1 WHERE state = 'done'",
      "ALTER TABLE jobs ADD CONSTRAINT tried CHECK (tries >= 0)"],
     ("jobs", "fails CHECK (tries >= 0) in 1 row(s)")),
    (["UPDATE jobs SET (state, tries) = ('new', 0) WHERE state IS NULL",
      "ALTER TABLE jobs ALTER COLUMN state SET NOT NULL",
      "ALTER TABLE jobs ADD CONSTRAINT tried CHECK (tries >= 0)"], None),
    (["UPDATE jobs SET state = 'new' WHERE state IS NULL",
      "ALTER TABLE jobs ALTER COLUMN state SET NOT NULL",
      "ALTER TABLE jobs ALTER COLUMN tries SET NOT NULL"],
     ("jobs.tries", "holds NULLs in 1 row(s)")),
    # a constant in every row, then a CHECK (it was `cannot tell`: only a SET NOT NULL after
    # one was told)
    (["UPDATE jobs SET tries = 1", "ALTER TABLE jobs ADD CONSTRAINT tried CHECK (tries > 0)"],
     None),
    # a unique index over the rows as updated
    (["UPDATE jobs SET owner = 'x' WHERE owner IS NULL",
      "CREATE UNIQUE INDEX one_owner ON jobs (owner)"],
     ("jobs (owner)", "has duplicate unique index values, e.g. key (x)")),
])
def test_the_rows_an_update_leaves_are_asked(
        database: psycopg.Connection, statements: list[str],
        refused: tuple[str, str] | None) -> None:
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql in statements[1:]]

    said = [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"]
    assert said == ([refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")] == []
    assert verdicts
    assert postgresql_refuses(database, *statements) is bool(refused)


@pytest.mark.parametrize(("statements", "refused"), [
    (["DELETE FROM sessions WHERE token IS NULL",
      "ALTER TABLE sessions ALTER COLUMN token SET NOT NULL"], None),
    (["DELETE FROM sessions WHERE token = 't2'",
      "ALTER TABLE sessions ALTER COLUMN token SET NOT NULL"],
     ("sessions.token", "holds NULLs in 1 row(s)")),
    (["DELETE FROM sessions WHERE user_id = 2", "CREATE UNIQUE INDEX one_token ON sessions (token)"],
     None),
    (["DELETE FROM sessions WHERE user_id > 2", "CREATE UNIQUE INDEX one_token ON sessions (token)"],
     ("sessions (token)", "has duplicate unique index values, e.g. key (t1)")),
    # (a NULL kind is not deleted by `kind <> 'web'`, and passes the CHECK)
    (["DELETE FROM sessions WHERE kind <> 'web'",
      "ALTER TABLE sessions ADD CONSTRAINT webby CHECK (kind = 'web')"], None),
    (["DELETE FROM sessions WHERE kind = 'web'",
      "ALTER TABLE sessions ADD CONSTRAINT webby CHECK (kind = 'web')"],
     ("sessions", "fails CHECK (kind = 'web') in 1 row(s)")),
    (["DELETE FROM sessions WHERE token IS NULL", "DELETE FROM sessions WHERE user_id IS NULL",
      "ALTER TABLE sessions ALTER COLUMN token SET NOT NULL",
      "ALTER TABLE sessions ALTER COLUMN user_id SET NOT NULL"], None),
])
def test_the_rows_deletes_leave_are_asked_of_the_table_s_own_constraints(
        database: psycopg.Connection, statements: list[str],
        refused: tuple[str, str] | None) -> None:
    checks = [s for s in statements if not s.startswith("DELETE")]
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql in checks]

    said = [(v.subject, v.detail) for v in verdicts if v.outcome == "refused"]
    assert said == ([refused] if refused else []), verdicts
    assert [v for v in verdicts if v.outcome in ("cannot tell", "not checked")] == []
    assert verdicts
    assert postgresql_refuses(database, *statements) is bool(refused)


@pytest.mark.parametrize(("statements", "why"), [
    (["UPDATE audited SET note = 'x'", "ALTER TABLE audited ALTER COLUMN note SET NOT NULL"],
     "set every row first, but the table has a trigger"),
    (["UPDATE audited SET note = 'x'", "ALTER TABLE audited ADD CHECK (note <> '')"],
     "trigger blank of audited runs BEFORE UPDATE"),
    (["UPDATE audited SET note = 'x' WHERE id > 0",
      "ALTER TABLE audited ALTER COLUMN note SET NOT NULL"],
     "trigger blank of audited runs BEFORE UPDATE"),
    (["UPDATE jobs SET owner = CASE WHEN random() < 2 THEN 'x' END",
      "ALTER TABLE jobs ALTER COLUMN owner SET NOT NULL"], "calls random(), a volatile function"),
    (["UPDATE events SET kind = 'x' WHERE kind IS NULL",
      "ALTER TABLE events ALTER COLUMN kind SET NOT NULL"], "child"),
    # two writes, a join: not told
    (["UPDATE jobs SET owner = 'x' WHERE owner IS NULL", "UPDATE jobs SET owner = NULL WHERE id = 1",
      "ALTER TABLE jobs ALTER COLUMN owner SET NOT NULL"], "0005 runs UPDATE on jobs before it"),
    (["UPDATE jobs SET owner = t.source FROM transformers t WHERE t.id = jobs.id",
      "ALTER TABLE jobs ALTER COLUMN owner SET NOT NULL"], "0005 runs UPDATE on jobs before it"),
    (["DELETE FROM sessions WHERE token IS NULL", "UPDATE sessions SET token = NULL WHERE id = 1",
      "ALTER TABLE sessions ALTER COLUMN token SET NOT NULL"],
     "0005 runs DELETE on sessions before it"),
])
def test_writes_whose_rows_cannot_be_told_are_said_so(
        database: psycopg.Connection, statements: list[str], why: str) -> None:
    verdicts = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]

    assert verdicts and all(v.outcome == "cannot tell" for v in verdicts), verdicts
    assert any(why in v.detail for v in verdicts), verdicts


def test_a_table_created_after_a_do_block_is_new(database: psycopg.Connection) -> None:
    do = "DO $$BEGIN PERFORM 1; END$$"
    plain = ["CREATE TABLE hooks (id int, job int, name text)",
             "ALTER TABLE hooks ALTER COLUMN name SET NOT NULL",
             "ALTER TABLE hooks ADD CONSTRAINT hooks_job FOREIGN KEY (job) REFERENCES jobs"]
    assert row_verdicts(database, do, *plain) == []  # (empty: nothing refuses it)
    assert not postgresql_refuses(database, do, *plain)
    # IF NOT EXISTS: the DO block may have made it, with rows; a DO block after the CREATE may
    # write it; an existing table's check after one stays `cannot tell`
    for statements in (
            [do, "CREATE TABLE IF NOT EXISTS hooks (id int, name text)",
             "ALTER TABLE hooks ALTER COLUMN name SET NOT NULL"],
            ["CREATE TABLE hooks (id int, name text)", do,
             "ALTER TABLE hooks ALTER COLUMN name SET NOT NULL"],
            [do, "CREATE TABLE hooks (id int, name text)",
             "INSERT INTO jobs VALUES (9, 'new', 0, 'z')",
             "ALTER TABLE hooks ALTER COLUMN name SET NOT NULL"],
            [do, "CREATE TABLE hooks (id int, name text)",
             "ALTER TABLE jobs ALTER COLUMN owner SET NOT NULL"]):
        verdicts = [v for v in row_verdicts(database, *statements) if v.sql == statements[-1]]
        assert [v.outcome for v in verdicts] == ["cannot tell"], statements
        assert "runs a DO block before it" in verdicts[0].detail

"""`dbsafe verify-reversible` on folders of SQL migrations: each up migration applied, its
down migration run, the catalog compared with the one before, the up applied again, on a
real PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import ConfigError, Severity, SourceError

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _found(root: Path) -> list[tuple[str, str, int]]:
    report = commands.verify_reversible(load_settings(root, environ={}))
    return sorted((f.code, f.location.path, f.location.line) for f in report.findings
                  if f.location is not None)


def test_golang_migrate_down_files_are_walked(tmp_path: Path) -> None:
    _write(tmp_path / "db" / "migrations", {
        "1_init.up.sql": "CREATE TABLE users (id int PRIMARY KEY, name text);\n",
        "1_init.down.sql": "DROP TABLE users;\n",
        # The index goes with its column: a real undo.
        "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n"
                          "CREATE INDEX users_email ON users (email);\n",
        "2_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
        "3_age.up.sql": "ALTER TABLE users ADD COLUMN age int;\n"
                        "CREATE INDEX users_age ON users (age);\n",
        "3_age.down.sql": "-- forgot the column\nDROP INDEX users_age;\n",
        "4_t.up.sql": "CREATE TABLE t4 (id int);\n",
        "4_t.down.sql": "DROP TABLE nosuch;\n",
        "5_v.up.sql": "CREATE VIEW named AS SELECT name FROM users;\n",
        "5_v.down.sql": "DROP VIEW named;\n",
        # concourse's runner runs a version's Go down (`1537546150_x.down.go`)
        "6_t.up.sql": "CREATE TABLE t6 (id int);\n",
        "6_t.down.go": "package migrations\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    found = sorted((f.code, f.location.path, f.location.line) for f in report.findings
                   if f.location is not None)
    # The leftover column is repaired before the up runs again: no DBS415 behind it.
    assert found == [("DBS411", "db/migrations/6_t.up.sql", 1),
                     ("DBS412", "db/migrations/4_t.down.sql", 1),
                     ("DBS413", "db/migrations/3_age.down.sql", 2)]
    [in_go] = [f for f in report.findings if f.code == "DBS411"]
    assert in_go.message.startswith("`db/migrations/6_t.up.sql` changes the schema but its "
                                    "down migration `6_t.down.go` is Go code, which dbsafe "
                                    "cannot run; ")
    [leftover] = [f for f in report.findings if f.code == "DBS413"]
    assert "column `public.users.age`" in leftover.message
    assert "ALTER TABLE public.users DROP COLUMN age;" in dict(leftover.context)["Fix (SQL)"]
    assert report.summary["migrations"] == 6


def test_an_underscored_down_file_is_the_down_of_its_underscored_up(tmp_path: Path) -> None:
    # gitness's `0029_create_index_job_job_group_id_up.sql` and `..._down.sql` among its
    # `.up.sql` files: the down (MySQL's `DROP INDEX x ON t`) is what fails, 42601, where
    # it was walked as an up of its own and the up had no down (DBS411).
    _write(tmp_path / "db" / "migrations", {
        "1_init.up.sql": "CREATE TABLE jobs (id int PRIMARY KEY, grp int);\n",
        "1_init.down.sql": "DROP TABLE jobs;\n",
        "2_grp_up.sql": "CREATE INDEX job_group_id ON jobs (grp);\n",
        "2_grp_down.sql": "DROP INDEX job_group_id ON jobs;\n",
        "3_note_up.sql": "ALTER TABLE jobs ADD COLUMN note text;\n",
        "3_note_down.sql": "ALTER TABLE jobs DROP COLUMN note;\n",
    })
    assert _found(tmp_path) == [("DBS412", "db/migrations/2_grp_down.sql", 1)]


def test_an_umzug_down_folder_holds_the_downs_of_the_files_beside_it(tmp_path: Path) -> None:
    # @slonik/migrator (umzug) keeps the down of `x.sql` in `down/x.sql`: walked as an up of
    # its own, it dropped what the up made (DBS412 on the next up), and no up had a down.
    _write(tmp_path / "db" / "migrations", {
        "2022.02.14T00.19.46.users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
        "2022.02.14T00.20.05.posts.sql": "ALTER TABLE users ADD COLUMN age int;\n"
                                         "CREATE INDEX users_age ON users (age);\n",
        "down/2022.02.14T00.19.46.users.sql": "DROP TABLE users;\n",
        "down/2022.02.14T00.20.05.posts.sql": "DROP INDEX users_age;\n",
    })
    assert _found(tmp_path) == [
        ("DBS413", "db/migrations/down/2022.02.14T00.20.05.posts.sql", 1)]


def test_postgrators_undo_file_is_the_down_of_its_versions_do(tmp_path: Path) -> None:
    # postgrator's `<version>.undo.<name>.sql` goes back from its version's `.do.` file:
    # walked as an up of its own, it dropped what the do made, and no up had a down.
    _write(tmp_path / "db" / "migrations", {
        "0001.do.users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
        "0001.undo.users.sql": "DROP TABLE users;\n",
        "2.do.age.sql": "ALTER TABLE users ADD COLUMN age int;\n"
                        "CREATE INDEX users_age ON users (age);\n",
        "2.undo.sql": "DROP INDEX users_age;\n",
    })
    assert _found(tmp_path) == [("DBS413", "db/migrations/2.undo.sql", 1)]


def test_sections_of_one_file_and_a_missing_down(tmp_path: Path) -> None:
    # dbmate files: a down section that drops the index but not the column it added, and a
    # file without a down section.
    _write(tmp_path / "db" / "migrations", {
        "20240101000000_init.sql": "-- migrate:up\nCREATE TABLE a (id int);\n\n"
                                   "-- migrate:down\nDROP TABLE a;\n",
        "20240102000000_b.sql": "-- migrate:up\nALTER TABLE a ADD COLUMN b int;\n"
                                "CREATE INDEX a_b ON a (b);\n\n"
                                "-- migrate:down\nDROP INDEX a_b;\n",
        "20240103000000_c.sql": "-- migrate:up\nALTER TABLE a ADD COLUMN c int;\n",
    })
    assert _found(tmp_path) == [("DBS411", "db/migrations/20240103000000_c.sql", 1),
                                ("DBS413", "db/migrations/20240102000000_b.sql", 6)]


def test_a_down_section_runs_in_the_transaction_its_own_annotation_says(
        tmp_path: Path) -> None:
    # sql-migrate reads `notransaction` on each direction's line apart (Convoy's
    # 1755016412.sql: an index built with `Up notransaction`, dropped CONCURRENTLY under a
    # plain `Down`, which sql-migrate runs in a transaction: 25001).
    _write(tmp_path / "sm" / "db" / "migrations", {
        "1_t.sql": "-- +migrate Up\nCREATE TABLE t (id int, b int);\n"
                   "-- +migrate Down\nDROP TABLE t;\n",
        "2_i.sql": "-- +migrate Up notransaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n"
                   "-- +migrate Down\nDROP INDEX CONCURRENTLY t_id;\n",
        "3_j.sql": "-- +migrate Up\nCREATE INDEX t_b ON t (b);\n"
                   "-- +migrate Down notransaction\nDROP INDEX CONCURRENTLY t_b;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path / "sm", environ={}))
    [refused] = report.findings
    assert (refused.code, refused.location.path, refused.location.line) == \
        ("DBS412", "db/migrations/2_i.sql", 4)
    assert "25001" in refused.message
    # dbmate: `transaction:false` on the down's own line.
    _write(tmp_path / "dbmate" / "db" / "migrations", {
        "20240101000000_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\n"
                                "CREATE INDEX t_id ON t (id);\n"
                                "-- migrate:down transaction:false\n"
                                "DROP INDEX CONCURRENTLY t_id;\n",
        "20240102000000_u.sql": "-- migrate:up\nCREATE TABLE u (id int);\n"
                                "-- migrate:down\nDROP TABLE u;\n",
    })
    found = _found(tmp_path / "dbmate")
    assert all(code != "DBS412" for code, _path, _line in found), found


def test_a_golang_migrate_down_file_runs_as_one_query_of_its_own_statements(
        tmp_path: Path) -> None:
    # golang-migrate sends each file as one query: an implicit transaction when it holds
    # several statements, counted in the down file, not in its up.
    _write(tmp_path / "db" / "migrations", {
        "1_t.up.sql": "CREATE TABLE t (id int, b int);\n",
        "1_t.down.sql": "DROP TABLE t;\n",
        "2_i.up.sql": "CREATE INDEX t_b ON t (b);\nCOMMENT ON INDEX t_b IS 'b';\n",
        "2_i.down.sql": "DROP INDEX CONCURRENTLY t_b;\n",
        "3_j.up.sql": "CREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        "3_j.down.sql": "DROP INDEX CONCURRENTLY t_id;\nSELECT 1;\n",
    })
    assert _found(tmp_path) == [("DBS412", "db/migrations/3_j.down.sql", 1)]


def test_a_diesel_down_file_runs_as_its_metadata_and_its_own_statements_say(
        tmp_path: Path) -> None:
    # diesel reads one metadata.toml for both files of a migration: `run_in_transaction =
    # false` sends each as one simple query, an implicit transaction when it holds several
    # statements, counted in down.sql itself, not in up.sql.
    (tmp_path / "diesel.toml").write_text("[print_schema]\nfile = \"src/schema.rs\"\n")
    no_transaction = "run_in_transaction = false\n"
    _write(tmp_path / "migrations", {
        "2024-01-01-000000_t/up.sql": "CREATE TABLE t (id int, b int);\n",
        "2024-01-01-000000_t/down.sql": "DROP TABLE t;\n",
        "2024-01-02-000000_i/up.sql": "CREATE INDEX CONCURRENTLY t_b ON t (b);\n",
        "2024-01-02-000000_i/down.sql": "DROP INDEX CONCURRENTLY t_b;\nSELECT 1;\n",
        "2024-01-02-000000_i/metadata.toml": no_transaction,
        "2024-01-03-000000_j/up.sql": "SELECT 1;\nSELECT 2;\n",
        "2024-01-03-000000_j/down.sql": "DROP INDEX CONCURRENTLY IF EXISTS t_id;\n",
        "2024-01-03-000000_j/metadata.toml": no_transaction,
    })
    assert _found(tmp_path) == [("DBS412", "migrations/2024-01-02-000000_i/down.sql", 1)]


_MENTIONS = "CREATE TABLE mentions (id int, ap_url varchar NOT NULL DEFAULT '', " \
    "CONSTRAINT mentions_unique_ap_url UNIQUE (ap_url));\n"
_ADDED_BACK = "ALTER TABLE mentions ADD COLUMN ap_url VARCHAR NOT NULL DEFAULT '';\n"


@pytest.mark.parametrize(("files", "edited"), [
    ({"migrations/2024-01-01-000000_m/up.sql": _MENTIONS,
      "migrations/2024-01-01-000000_m/down.sql": "DROP TABLE mentions;\n",
      "migrations/2024-01-02-000000_n/up.sql": "ALTER TABLE mentions DROP COLUMN ap_url;\n",
      "migrations/2024-01-02-000000_n/down.sql": _ADDED_BACK,
      "diesel.toml": "[print_schema]\nfile = \"src/schema.rs\"\n"},
     "migrations/2024-01-02-000000_n/down.sql"),
    ({"db/migrations/1_m.up.sql": _MENTIONS, "db/migrations/1_m.down.sql": "DROP TABLE mentions;\n",
      "db/migrations/2_n.up.sql": "ALTER TABLE mentions DROP COLUMN ap_url;\n",
      "db/migrations/2_n.down.sql": _ADDED_BACK},
     "db/migrations/2_n.down.sql"),
], ids=["diesel", "golang-migrate"])
def test_the_fix_for_a_down_in_a_transaction_runs_there(tmp_path: Path, files: dict[str, str],
                                                        edited: str) -> None:
    # Plume's mention_no_ap_url: the up drops a column and its unique constraint with it,
    # the down adds the column back alone. The fix made the constraint's index again
    # CONCURRENTLY, which diesel's transaction refuses, and golang-migrate's one query of
    # several statements: pasted into the down as the help says, the down failed (DBS412,
    # 25001). It must now leave nothing behind.
    _write(tmp_path, files)
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    [leftover] = report.findings
    assert leftover.code == "DBS413"
    fix = dict(leftover.context)["Fix (SQL)"]
    assert "UNIQUE USING INDEX mentions_unique_ap_url" in fix
    down = tmp_path / edited
    down.write_text(down.read_text() + fix + "\n")
    assert _found(tmp_path) == []


def test_an_empty_down_migration_is_a_missing_one_on_its_own_line(tmp_path: Path) -> None:
    # eSkwelahan's dbmate file: a `-- migrate:down` with nothing under it undoes nothing,
    # like alembic's `pass`: DBS411 on the section's marker, not a DBS413 per object on
    # the file's first line. A comment-only `.down.sql` is empty too; an empty down of a
    # data migration that changes no schema is fine.
    _write(tmp_path / "p1" / "db" / "migrations", {
        "20240101000000_init.sql": "-- migrate:up\nCREATE TABLE a (id serial PRIMARY KEY);\n"
                                   "\n-- migrate:down\n\n",
        "20240102000000_rows.sql": "-- migrate:up\nINSERT INTO a DEFAULT VALUES;\n"
                                   "-- migrate:down\n",
    })
    _write(tmp_path / "p2" / "db" / "migrations", {
        "1_b.up.sql": "CREATE TABLE b (id int);\n",
        "1_b.down.sql": "-- This file should undo anything in `up.sql`\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path / "p1", environ={}))
    assert [(f.code, f.location.path, f.location.line) for f in report.findings
            if f.location is not None] == [("DBS411", "db/migrations/20240101000000_init.sql", 4)]
    assert "its down section is empty" in report.findings[0].message
    assert "table `public.a`" in dict(report.findings[0].context)["Left behind"]
    assert _found(tmp_path / "p2") == [("DBS411", "db/migrations/1_b.down.sql", 1)]


def test_a_down_migration_that_changes_nothing_is_an_empty_one(tmp_path: Path) -> None:
    # goose's template down (`SELECT 'down SQL query';`) and a `SELECT 1;` run and change
    # nothing in the schema: one DBS411 with the whole undo, as for an empty down, not a
    # DBS413 per object the up made. A data migration's is fine; a down that drops one of
    # two tables is a leftover.
    _write(tmp_path / "db" / "migrations", {
        "00001_init.sql": "-- +goose Up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"
                          "\n-- +goose Down\nSELECT 'down SQL query';\n",
        "00002_rows.sql": "-- +goose Up\nINSERT INTO a VALUES (1);\n"
                          "-- +goose Down\nSELECT 'down SQL query';\n",
        "00003_c.sql": "-- +goose Up\nCREATE TABLE c (id int);\nCREATE TABLE d (id int);\n"
                       "-- +goose Down\nDROP TABLE c;\n",
    })
    _write(tmp_path / "p2" / "db" / "migrations", {
        "1_e.up.sql": "CREATE TABLE e (id int);\n",
        "1_e.down.sql": "-- nothing to do\nSELECT 1;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert [(f.code, f.location.path, f.location.line) for f in report.findings
            if f.location is not None] == [("DBS411", "db/migrations/00001_init.sql", 6),
                                          ("DBS413", "db/migrations/00003_c.sql", 5)]
    missing = report.findings[0]
    assert "its down section changes nothing in the schema" in missing.message
    assert dict(missing.context)["Left behind"].count("table `public.") == 2
    assert "DROP TABLE public.a;" in dict(missing.context)["Fix (SQL)"]
    [finding] = commands.verify_reversible(load_settings(tmp_path / "p2", environ={})).findings
    assert (finding.code, finding.location and finding.location.line) == ("DBS411", 2)
    assert "its down migration `db/migrations/1_e.down.sql` changes nothing" in finding.message


def test_a_moment_postgresql_folds_into_a_definition_is_no_leftover(tmp_path: Path) -> None:
    # Lemmy's post_aggregates_view: `'now'::timestamp` in a view (or a column default) is
    # stored as the moment the statement ran, so the view its down migration makes again
    # prints another timestamp than the one before the up. A constant the migrations
    # wrote, restored wrong, is still a leftover.
    view = ("CREATE VIEW recent AS SELECT id FROM post "
            "WHERE published > ('now'::timestamp - '1 mon'::interval){};\n")
    _write(tmp_path / "db" / "migrations", {
        "1_post.up.sql": "CREATE TABLE post (id int, published timestamp "
                         "DEFAULT 'now'::timestamp);\n" + view.format(""),
        "1_post.down.sql": "DROP VIEW recent;\nDROP TABLE post;\n",
        "2_recent.up.sql": "DROP VIEW recent;\n" + view.format(" AND id > 0")
                           + "ALTER TABLE post ALTER COLUMN published DROP DEFAULT;\n",
        "2_recent.down.sql": "DROP VIEW recent;\n" + view.format("")
                             + "ALTER TABLE post ALTER COLUMN published "
                               "SET DEFAULT 'now'::timestamp;\n",
        "3_old.up.sql": "CREATE VIEW old AS SELECT id FROM post "
                        "WHERE published < '2020-01-01'::timestamp;\n",
        "3_old.down.sql": "DROP VIEW old;\n",
        "4_old.up.sql": "CREATE OR REPLACE VIEW old AS SELECT id FROM post "
                        "WHERE published < '2021-01-01'::timestamp;\n",
        "4_old.down.sql": "CREATE OR REPLACE VIEW old AS SELECT id FROM post "
                          "WHERE published < '2019-01-01'::timestamp;\n",
    })
    assert _found(tmp_path) == [("DBS413", "db/migrations/4_old.down.sql", 1)]


def test_a_moment_folded_in_the_server_s_own_zone_is_no_leftover(tmp_path: Path) -> None:
    # initdb gives the throwaway server its machine's zone: in Tokyo, `'now'::timestamp`
    # is folded nine hours ahead of the UTC dbsafe reads the clock in.
    view = ("SET TIME ZONE 'Asia/Tokyo';\nCREATE VIEW recent AS SELECT id FROM post "
            "WHERE published > ('now'::timestamp - '1 mon'::interval){};\n")
    _write(tmp_path / "db" / "migrations", {
        "1_post.up.sql": "CREATE TABLE post (id int, published timestamp);\n"
                         + view.format(""),
        "1_post.down.sql": "DROP VIEW recent;\nDROP TABLE post;\n",
        "2_recent.up.sql": "DROP VIEW recent;\n" + view.format(" AND id > 0"),
        "2_recent.down.sql": "DROP VIEW recent;\n" + view.format(""),
    })
    assert _found(tmp_path) == []


@pytest.mark.parametrize("setting", ["ALTER DATABASE %I", "ALTER ROLE CURRENT_USER IN DATABASE %I"])
def test_a_search_path_a_migration_sets_for_new_sessions_is_read_as_they_read_it(
        tmp_path: Path, setting: str) -> None:
    # The walk reads its snapshots on one kept session (task 422): one that logged in before
    # 2_path set the database's (or the role's) search_path would still print `app.mood`
    # where new sessions print `mood`, and 2_path's down, which leaves the setting, would
    # seem to change nothing that matters (no finding). 3_u creates unqualified objects,
    # which land in `app`. What is left behind is the setting (task 430: it was the types
    # and defaults its path names otherwise).
    _write(tmp_path / "db" / "migrations", {
        "1_app.up.sql": "CREATE SCHEMA app;\nCREATE TYPE app.mood AS ENUM ('ok', 'sad');\n"
                        "CREATE TABLE app.t (m app.mood DEFAULT 'ok');\n",
        "1_app.down.sql": "DROP SCHEMA app CASCADE;\n",
        "2_path.up.sql": "DO $$ BEGIN EXECUTE format('" + setting + " SET search_path = app, "
                         "public', current_database()); END $$;\n",
        "2_path.down.sql": "SELECT 1;\n",
        "3_u.up.sql": "CREATE TABLE u (m mood DEFAULT 'sad');\n",
        "3_u.down.sql": "DROP TABLE u;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    [finding] = report.findings
    assert (finding.code, finding.location and finding.location.path) == (
        "DBS411", "db/migrations/2_path.down.sql")
    left = dict(finding.context)["Left behind"]
    if setting.startswith("ALTER DATABASE"):
        assert left == "database setting `search_path`: only in the source"
    else:
        assert re.fullmatch(r"role setting `[^`]+\.search_path`: only in the source", left)


def test_a_serial_table_left_behind_is_one_leftover_with_its_sequence(tmp_path: Path) -> None:
    # eSkwelahan's students_activity: the sequence of a serial column went as a leftover of
    # its own, whose fix (`DROP SEQUENCE`) PostgreSQL refuses before the table's DROP
    # (2BP01) and after it (42P01).
    _write(tmp_path / "db" / "migrations", {
        "1_a.up.sql": "CREATE TABLE a (id serial PRIMARY KEY);\nCREATE TABLE z (id int);\n",
        "1_a.down.sql": "DROP TABLE z;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    [leftover] = report.findings
    assert leftover.message == ("`db/migrations/1_a.down.sql` leaves table `public.a` with "
                                "its sequence `public.a_id_seq`.")
    assert "DROP SEQUENCE" not in dict(leftover.context)["Fix (SQL)"]


@pytest.mark.parametrize(("down", "expected"), [
    (lambda function: function("2", "10"), (
        Severity.ERROR, "differs in definition at line 9 of its definition: `b := b + 10;` in "
        "the downgraded schema, `b := b + 1;` in the schema before the upgrade.")),
    # reindented: PostgreSQL keeps the body as written (prosrc), PL/pgSQL reads the same
    # tokens; a note, as drift says it (an error that no SQL could fix but a copy of the up's
    # spaces, before 2026-12-06)
    (lambda function: function("2", "1").replace("  ", "    "), (
        Severity.NOTE, "differs in definition only in whitespace (from line 6 of its "
        "definition: `b integer := 0;` in the downgraded schema, `b integer := 0;` in the "
        "schema before the upgrade); it runs the same.")),
], ids=["token", "whitespace"])
def test_a_function_body_a_down_leaves_otherwise_names_its_first_differing_line(
        tmp_path: Path, down: Callable[[Callable[[str, str], str]], str],
        expected: tuple[Severity, str]) -> None:
    # The down puts back a body that differs from the one before the upgrade on its fifth
    # line (the 9th of pg_get_functiondef's text): the finding shows that line, as drift's
    # does, not 60 characters cut around the first differing one, newlines squeezed.
    def function(ratio: str, step: str) -> str:
        return ("CREATE OR REPLACE FUNCTION f(a integer) RETURNS integer LANGUAGE plpgsql AS $$\n"
                "DECLARE\n  b integer := 0;\nBEGIN\n"
                f"  b := a * {ratio};\n  b := b + {step};\n  RETURN b;\nEND\n$$;\n")

    _write(tmp_path / "db" / "migrations", {
        "1_f.up.sql": function("2", "1"),
        "1_f.down.sql": "DROP FUNCTION f(integer);\n",
        "2_f.up.sql": function("3", "1"),
        "2_f.down.sql": down(function),
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert [(f.code, f.severity, f.message) for f in report.findings] == [(
        "DBS413", expected[0], "`db/migrations/2_f.down.sql` leaves function "
                               f"`public.f(a integer)`, which {expected[1]}")]


def test_an_event_trigger_a_down_leaves_behind_is_a_leftover(tmp_path: Path) -> None:
    # The fix drops the event trigger before its function (DROP FUNCTION fails with 2BP01
    # while it stands), so the up applies again.
    _write(tmp_path / "db" / "migrations", {
        "1_audit.up.sql": "CREATE TABLE log (id int);\n"
                          "CREATE FUNCTION audit() RETURNS event_trigger LANGUAGE plpgsql "
                          "AS 'BEGIN END';\n"
                          "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end "
                          "WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION audit();\n",
        "1_audit.down.sql": "DROP TABLE log;\nDROP FUNCTION audit() CASCADE;\n",
        "2_watch.up.sql": "CREATE TABLE seen (id int);\n"
                          "CREATE FUNCTION watch() RETURNS event_trigger LANGUAGE plpgsql "
                          "AS 'BEGIN END';\n"
                          "CREATE EVENT TRIGGER watch_ddl ON sql_drop EXECUTE FUNCTION watch();\n",
        "2_watch.down.sql": "-- forgot the event trigger\nDROP TABLE seen;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    # The whole undo runs before the up again, the event trigger first: no DBS415.
    assert [(f.code, f.message) for f in report.findings] == [
        ("DBS413", "`db/migrations/2_watch.down.sql` leaves function `public.watch()`."),
        ("DBS413", "`db/migrations/2_watch.down.sql` leaves event trigger `watch_ddl`.")]
    fix = dict(report.findings[1].context)["Fix (SQL)"]
    assert fix.endswith("\nDROP EVENT TRIGGER watch_ddl;") and "requires-superuser" in fix


def test_a_sqitch_project_s_revert_scripts_are_its_downs(tmp_path: Path) -> None:
    _write(tmp_path, {
        "sqitch.conf": "[core]\n\tengine = pg\n",
        "sqitch.plan": "%syntax-version=1.0.0\n%project=p\n\n"
                       "users 2024-01-01T00:00:00Z A <a@example.com> # users\n"
                       "roles [users] 2024-01-02T00:00:00Z A <a@example.com> # roles\n",
        "deploy/users.sql": "BEGIN;\nCREATE TABLE users (id int);\nCOMMIT;\n",
        "revert/users.sql": "BEGIN;\nDROP TABLE users;\nCOMMIT;\n",
        "deploy/roles.sql": "BEGIN;\nCREATE TABLE roles (id int);\n"
                            "ALTER TABLE users ADD COLUMN role int;\nCOMMIT;\n",
        "revert/roles.sql": "BEGIN;\nDROP TABLE roles;\nCOMMIT;\n",
        "verify/roles.sql": "SELECT role FROM users;\n",
    })
    assert _found(tmp_path) == [("DBS413", "revert/roles.sql", 1)]


def test_a_folder_without_down_migrations_is_an_error_not_a_pass(tmp_path: Path) -> None:
    _write(tmp_path / "supabase" / "migrations", {
        "20240101000000_init.sql": "CREATE TABLE a (id int);\n"})
    with pytest.raises(SourceError, match="no down migrations in supabase/migrations"):
        commands.verify_reversible(load_settings(tmp_path, environ={}))
    # Flipt's golang-migrate folder: its runner has down migrations, the project wrote none.
    _write(tmp_path / "p2" / "db" / "migrations", {"1_a.up.sql": "CREATE TABLE a (id int);\n"})
    with pytest.raises(SourceError, match=r"db/migrations: none of its migrations has one "
                                          r"\(its runner rolls forward only, or none was"):
        commands.verify_reversible(load_settings(tmp_path / "p2", environ={}))


def test_alembic_only_options_are_refused_for_a_folder(tmp_path: Path) -> None:
    _write(tmp_path / "db" / "migrations", {"1_a.up.sql": "CREATE TABLE a (id int);\n",
                                             "1_a.down.sql": "DROP TABLE a;\n"})
    with pytest.raises(ConfigError, match="--from: for alembic revisions"):
        commands.verify_reversible(load_settings(tmp_path, environ={}), start="1")
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "verify-reversible", "-q",
                           "--sql-migrations", "db/migrations"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_up_migration_that_does_not_apply_stops_the_walk_and_says_what_was_left(
        tmp_path: Path) -> None:
    _write(tmp_path / "db" / "migrations", {
        "1_a.up.sql": "CREATE TABLE a (id int);\n", "1_a.down.sql": "DROP TABLE a;\n",
        "2_b.up.sql": "ALTER TABLE nosuch ADD COLUMN b int;\n",
        "2_b.down.sql": "ALTER TABLE nosuch DROP COLUMN b;\n",
        "3_c.up.sql": "CREATE TABLE c (id int);\n", "3_c.down.sql": "DROP TABLE c;\n"})
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    [failed] = report.findings
    assert (failed.code, failed.location.path) == ("DBS417", "db/migrations/2_b.up.sql")
    assert report.summary["migrations"] == 3 and report.summary["with_down"] == 3


def test_an_up_migration_after_a_go_migration_dbsafe_does_not_run_is_no_error(
        tmp_path: Path) -> None:
    # hatchet's goose folder: `v1_0_100.sql` locks `v1_dags_olap_new`, made by the
    # `v1_0_99.go` before it, which dbsafe does not run. It was an error saying the
    # migration "does not apply on the schema its predecessors make" (42P01).
    _write(tmp_path / "db" / "migrations", {
        "00001_a.sql": "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n",
        "00002_b.go": "package migrations\n\nimport \"github.com/pressly/goose/v3\"\n\n"
                      "func init() { goose.AddMigrationContext(upB, downB) }\n",
        "00003_c.sql": "-- +goose Up\nALTER TABLE b ADD COLUMN c int;\n"
                       "-- +goose Down\nALTER TABLE b DROP COLUMN c;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    [stopped] = report.findings
    assert (stopped.code, stopped.severity.value, stopped.location and stopped.location.path) \
        == ("DBS417", "warning", "db/migrations/00003_c.sql")
    assert "`db/migrations/00002_b.go`" in stopped.message
    assert "does not apply on the schema its predecessors make" not in stopped.message
    # a Go migration after the failing one is not what it needed: still an error
    (tmp_path / "db" / "migrations" / "00002_b.go").rename(
        tmp_path / "db" / "migrations" / "00004_b.go")
    [failed] = commands.verify_reversible(load_settings(tmp_path, environ={})).findings
    assert (failed.code, failed.severity.value) == ("DBS417", "error")
    assert "does not apply on the schema its predecessors make" in failed.message


def test_the_rollbacks_of_yoyo_python_steps_are_its_downs(tmp_path: Path) -> None:
    # `step(apply, rollback)`: the rollbacks run last step first. 0002's second step has
    # none, so its rollback leaves the table it made behind (DBS413 at the rollback string).
    _write(tmp_path, {"yoyo.ini": "[DEFAULT]\nsources = migrations\n"})
    _write(tmp_path / "migrations", {
        "0001_users.py": 'from yoyo import step\n'
                         'step("CREATE TABLE users (id int PRIMARY KEY)", "DROP TABLE users")\n',
        "0002_email.py": 'from yoyo import step\n__depends__ = {"0001_users"}\nsteps = [\n'
                         '    step("ALTER TABLE users ADD COLUMN email text",\n'
                         '         "ALTER TABLE users DROP COLUMN email"),\n'
                         '    step("CREATE TABLE audit (id int)"),\n'
                         ']\n',
        "0003_t.py": 'from yoyo import step\n__depends__ = {"0002_email"}\n'
                     'step("CREATE TABLE t (id int)")\n',
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert sorted((f.code, f.location.path, f.location.line) for f in report.findings
                  if f.location is not None) == [
        ("DBS411", "migrations/0003_t.py", 1), ("DBS413", "migrations/0002_email.py", 5)]
    assert report.summary["migrations"] == 3


def test_yoyo_s_rollback_files_are_its_downs(tmp_path: Path) -> None:
    # yoyo keeps a SQL migration's down in `<id>.rollback.sql` beside it (IATI's
    # bulk-data-service); the walk follows its `-- depends:` order. Its rollback runs in the
    # migration's own transaction mode.
    _write(tmp_path / "db" / "migrations", {  # no yoyo.ini: its files say so
        "0001.users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
        "0001.users.rollback.sql": "DROP TABLE users;\n",
        "0002.age.sql": "-- depends: 0003.email\n"
                        "ALTER TABLE users ADD COLUMN age int;\n"
                        "CREATE INDEX users_age ON users (age);\n",
        "0002.age.rollback.sql": "-- depends: 0003.email\n\nDROP INDEX users_age;\n",
        "0003.email.sql": "-- depends: 0001.users\nALTER TABLE users ADD COLUMN email text;\n",
        "0003.email.rollback.sql": "ALTER TABLE users DROP COLUMN email;\n",
        "0004.t.sql": "-- depends: 0002.age\nCREATE TABLE t4 (id int);\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert sorted((f.code, f.location.path, f.location.line) for f in report.findings
                  if f.location is not None) == [
        ("DBS411", "db/migrations/0004.t.sql", 1),
        ("DBS413", "db/migrations/0002.age.rollback.sql", 3)]
    assert report.summary["migrations"] == 4


def test_flyway_undo_files_with_placeholders_in_the_schema_its_flyway_conf_names(
        tmp_path: Path) -> None:
    # flyway.conf's `locations` name the folder (db/migration: no folder dbsafe looks for
    # by its name; it was "alembic config not found"), its `schemas = app` and placeholders:
    # each V file and its U file run with ${...} filled in and app first on the search_path;
    # app is made before the first file (Flyway's), so undoing V1 leaves nothing behind.
    (tmp_path / "flyway.conf").write_text("flyway.locations=filesystem:db/migration\n"
                                         "flyway.schemas=app\nflyway.placeholders.t=users\n")
    _write(tmp_path / "db" / "migration", {
        "V1__users.sql": "CREATE TABLE ${T} (id int PRIMARY KEY);\n",
        "U1__users.sql": "DROP TABLE ${flyway:defaultSchema}.${t};\n",
        "V2__age.sql": "ALTER TABLE ${t} ADD COLUMN age int;\n"
                       "CREATE INDEX users_age ON ${t} (age);\n",
        "U2__age.sql": "DROP INDEX users_age;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert sorted((f.code, f.location.path, f.location.line) for f in report.findings
                  if f.location is not None) == [("DBS413", "db/migration/U2__age.sql", 1)]
    [leftover] = [f for f in report.findings if f.code == "DBS413"]
    assert "column `app.users.age`" in leftover.message


def test_flyway_s_callbacks_are_run_where_its_migrate_runs_them_not_walked(
        tmp_path: Path) -> None:
    # afterMigrate.sql (a grant) was walked as a migration without an undo file: a false
    # DBS411; beforeMigrate.sql ran after V1, which needs its schema: DBS417, nothing
    # walked; afterMigrateError.sql (never run by a migrate that succeeds) was walked too.
    _write(tmp_path / "db" / "migrations", {
        "beforeMigrate.sql": "CREATE SCHEMA IF NOT EXISTS app;\n",
        "V1__users.sql": "CREATE TABLE app.users (id int PRIMARY KEY);\n",
        "U1__users.sql": "DROP TABLE app.users;\n",
        "V2__age.sql": "ALTER TABLE app.users ADD COLUMN age int;\n",
        "U2__age.sql": "SELECT 1;\n",
        "afterMigrate.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA app TO PUBLIC;\n",
        "afterMigrateError.sql": "DROP SCHEMA app CASCADE;\n",
    })
    assert _found(tmp_path) == [("DBS411", "db/migrations/U2__age.sql", 1)]


@pytest.mark.parametrize(("runner", "files"), [
    ("golang-migrate", {"1_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
                        "1_users.down.sql": "DROP TABLE users;\n"}),
    ("goose", {"00001_users.sql": "-- +goose Up\nCREATE TABLE users (id int PRIMARY KEY);\n"
                                  "-- +goose Down\nDROP TABLE users;\n"}),
])
def test_a_file_its_runner_skips_is_no_revision_to_walk(
        tmp_path: Path, runner: str, files: dict[str, str]) -> None:
    # golang-migrate's regex and goose's version leave seed.sql out: neither runs it, so it
    # has no down migration to prove (it was a DBS411).
    _write(tmp_path / "db" / "migrations", {**files, "seed.sql": "CREATE TABLE seeds (id int);\n"})
    assert _found(tmp_path) == []


def test_a_dbmate_folder_is_walked_as_dbmate_lists_it(tmp_path: Path) -> None:
    # dbmate 2.36.0 runs the files named `^(\d+).*\.sql$` directly in its folder, sorted by
    # name: `20240105-tags.sql` after `20240101000000_users.sql` (by number it came first and
    # failed on the missing table: DBS417), and `seed.sql` never (it was a DBS411, no down).
    _write(tmp_path / "db" / "migrations", {
        "20240101000000_users.sql": "-- migrate:up\nCREATE TABLE users (id int PRIMARY KEY);\n"
                                    "-- migrate:down\nDROP TABLE users;\n",
        "20240105-tags.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN tag text;\n"
                             "-- migrate:down\n",
        "seed.sql": "CREATE TABLE seeds (id int);\n",
    })
    assert _found(tmp_path) == [("DBS411", "db/migrations/20240105-tags.sql", 3)]


def test_a_dbmate_migration_may_use_dbmate_s_own_history_table(tmp_path: Path) -> None:
    # dbmate makes `schema_migrations` before its first file runs; bionic-gpt's first
    # migration grants SELECT on it for its backups. The walk had no such table: 42P01, a
    # DBS417 on the first file, and none of the 111 after it verified.
    _write(tmp_path / "db" / "migrations", {
        "20240101000000_init.sql": "-- migrate:up\nCREATE TABLE users (id int);\n"
                                   "GRANT SELECT ON schema_migrations TO PUBLIC;\n"
                                   "-- migrate:down\nDROP TABLE users;\n"
                                   "REVOKE SELECT ON schema_migrations FROM PUBLIC;\n",
        "20240102000000_tags.sql": "-- migrate:up\nCREATE TABLE tags (id int);\n"
                                   "-- migrate:down\n",
    })
    assert _found(tmp_path) == [("DBS411", "db/migrations/20240102000000_tags.sql", 3)]


def test_flyway_s_baseline_migrations_are_not_walked(tmp_path: Path) -> None:
    # No undo file goes back from a baseline migration (B2 stands for V1 and V2 on a new
    # database only): the versioned files and their undo files are walked, B2 is not (run
    # after V2, its CREATE TABLE failed: 42P07, a DBS417).
    _write(tmp_path / "db" / "migrations", {
        "V1__users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
        "U1__users.sql": "DROP TABLE users;\n",
        "V2__email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
        "U2__email.sql": "ALTER TABLE users DROP COLUMN email;\n",
        "B2__baseline.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
        "V3__orders.sql": "CREATE TABLE orders (id int);\n",
        "U3__orders.sql": "DROP TABLE orders;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert (report.findings, report.summary["migrations"]) == ((), 3)


def test_a_database_setting_a_down_migration_leaves_is_reported_as_that_setting(
        tmp_path: Path) -> None:
    # Task 430: the snapshot held no setting; the down leaving `search_path` was seen only
    # as the type names it changes (`mood` for `app.mood`), whose fix rewrote the table.
    setting = ("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I {}', current_database()); "
               "END $$;\n")
    _write(tmp_path / "db" / "migrations", {
        "1_app.up.sql": "CREATE SCHEMA app;\nCREATE TYPE app.mood AS ENUM ('ok');\n"
                        "CREATE TABLE app.t (m app.mood DEFAULT 'ok');\n",
        "1_app.down.sql": "DROP SCHEMA app CASCADE;\n",
        "2_path.up.sql": setting.format("SET search_path = app, public")
                         + "CREATE TABLE w (id int);\n",
        "2_path.down.sql": "DROP TABLE w;\n",
        "3_later.up.sql": "CREATE TABLE later (id int);\n",
        "3_later.down.sql": "DROP TABLE later;\n",
    })
    report = commands.verify_reversible(load_settings(tmp_path, environ={}))
    assert [(f.code, f.message, dict(f.context).get("Fix (SQL)")) for f in report.findings] == [
        ("DBS413", "`db/migrations/2_path.down.sql` leaves database setting `search_path` "
                   "(search_path = app, public).",
         "DO $$BEGIN EXECUTE format('ALTER DATABASE %I RESET search_path', "
         "current_database()); END$$;")]

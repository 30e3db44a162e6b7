"""`dbsafe drift` and `dbsafe status` for folders of SQL migrations: the live database
against the files its runner's history table says ran there, built on a throwaway server
(real PostgreSQL)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings, load_settings
from dbsafe.core import DbsafeError, Finding, Severity

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

_UPS = ("CREATE TABLE users (id int PRIMARY KEY, name text);",
        "ALTER TABLE users ADD COLUMN email text;",
        "CREATE TABLE orders (id int);")

# Per runner: its file names for the three migrations, and its history table after the
# first two ran (in the form each runner writes it).
RUNNERS = {
    "golang-migrate": (
        ("db/migrations/1_users.up.sql", "db/migrations/2_email.up.sql",
         "db/migrations/3_orders.up.sql"),
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
        "INSERT INTO schema_migrations VALUES (2, false);"),
    "dbmate": (
        ("db/migrations/20240101000000_users.sql", "db/migrations/20240102000000_email.sql",
         "db/migrations/20240103000000_orders.sql"),
        "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
        "INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240102000000');"),
    "goose": (
        ("db/migrations/00001_users.sql", "db/migrations/00002_email.sql",
         "db/migrations/00003_orders.sql"),
        # goose writes a row per apply and per rollback: 3 was applied, then rolled back.
        "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, "
        "is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());"
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), "
        "(2, true), (3, true), (3, false);"),
    "flyway": (
        ("db/migrations/V1__users.sql", "db/migrations/V1_1__email.sql",
         "db/migrations/V2__orders.sql"),
        "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version "
        "varchar(50), description varchar(200), success boolean NOT NULL);"
        "INSERT INTO flyway_schema_history VALUES (1, '1', 'users', true), "
        "(2, '1.1', 'email', true), (3, '2', 'orders', false);"),
    # sql-migrate's (gorp's `gorp_migrations`): a row per applied file, its Id the file name.
    "sql-migrate": (
        ("db/migrations/1_users.sql", "db/migrations/2_email.sql",
         "db/migrations/3_orders.sql"),
        "CREATE TABLE gorp_migrations (id varchar(255) NOT NULL PRIMARY KEY, "
        "applied_at timestamptz NULL);"
        "INSERT INTO gorp_migrations VALUES ('1_users.sql', now()), ('2_email.sql', now());"),
}


def _project(tmp_path: Path, runner: str) -> None:
    names, _history = RUNNERS[runner]
    for name, sql in zip(names, _UPS, strict=True):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"-- +goose Up\n{sql}\n" if runner == "goose" else \
            f"-- migrate:up\n{sql}\n" if runner == "dbmate" else \
            f"-- +migrate Up\n{sql}\n-- +migrate Down\n" if runner == "sql-migrate" else f"{sql}\n"
        path.write_text(text)


@pytest.mark.parametrize("runner", ["golang-migrate", "goose"])
def test_a_file_its_runner_skips_is_neither_pending_nor_built(
        runner: str, tmp_path: Path, database_url: str) -> None:
    # golang-migrate's regex and goose's version leave seed.sql out: neither runs it, so it
    # is not pending, and the table it makes is no drift of a database it never touched.
    _project(tmp_path, runner)
    (tmp_path / "db" / "migrations" / "seed.sql").write_text("CREATE TABLE seeds (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS[runner][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.status(settings).summary["pending"] == [
        {"migration": RUNNERS[runner][0][2]}]
    assert commands.drift(settings).findings == ()


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_a_database_behind_is_not_drift_a_hand_made_index_is(
        runner: str, tmp_path: Path, database_url: str) -> None:
    _project(tmp_path, runner)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS[runner][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()  # the third file has not run: behind

    _index_by_hand_is_drift(settings, database_url, "users_email", "email")


def test_a_statement_that_fails_building_the_expected_schema_is_said(
        tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # AppFlowy-Cloud's foreign key to GoTrue's auth.users, a schema another service makes:
    # the throwaway refuses it (3F000), so the key the database has reads as made by hand.
    _project(tmp_path, "golang-migrate")
    (tmp_path / RUNNERS["golang-migrate"][0][1]).write_text(
        "CREATE TABLE accounts (id int REFERENCES auth.users (id));\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA auth; CREATE TABLE auth.users (id int PRIMARY KEY);"
                     + _UPS[0] + "CREATE TABLE accounts (id int REFERENCES auth.users (id));"
                     + RUNNERS["golang-migrate"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with caplog.at_level(logging.WARNING, logger="dbsafe"):
        commands.drift(settings)
    assert "db/migrations/2_email.up.sql:1:1: migration statement failed on the throwaway " \
        "server: 3F000: schema \"auth\" does not exist; the schema lacks what it would " \
        "have made" in caplog.text


def _index_by_hand_is_drift(settings: Settings, database_url: str, name: str,
                            columns: str) -> None:
    """An index made by hand on `users` is the one drift finding, DBS402."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE INDEX {name} ON users ({columns})")
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS402" and finding.subject == f"public.users.{name}"


def test_a_version_no_file_has_and_a_dirty_database_are_errors(
        tmp_path: Path, database_url: str) -> None:
    _project(tmp_path, "golang-migrate")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with pytest.raises(DbsafeError, match="no migration history table"):
        commands.drift(settings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(RUNNERS["golang-migrate"][1] + "UPDATE schema_migrations SET dirty = true")
    with pytest.raises(DbsafeError, match="dirty"):
        commands.drift(settings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET version = 9, dirty = false")
    with pytest.raises(DbsafeError, match=r"holds version\(s\) 9 that db/migrations has no file"):
        commands.drift(settings)


@pytest.mark.parametrize(("runner", "renamed", "history"), [
    # golang-migrate's `x-migrations-table` (OpenMeter's `schema_om`)
    ("golang-migrate", "schema_om",
     "CREATE TABLE schema_om (version bigint PRIMARY KEY, dirty boolean NOT NULL);"
     "INSERT INTO schema_om VALUES (2, false);"),
    # sql-migrate's `migrate.SetSchema` (Convoy's `convoy.gorp_migrations`)
    ("sql-migrate", "app.gorp_migrations",
     "CREATE SCHEMA app; CREATE TABLE app.gorp_migrations (id varchar(255) PRIMARY KEY, "
     "applied_at timestamptz); INSERT INTO app.gorp_migrations VALUES ('1_users.sql', now()), "
     "('2_email.sql', now());"),
    # Flyway's `table`: its columns are sqlx's and more, so it is read as Flyway's
    ("flyway", "Deploys",
     'CREATE TABLE "Deploys" (installed_rank int PRIMARY KEY, version varchar(50), '
     "description varchar(200), type varchar(20), script varchar(1000), checksum int, "
     "execution_time int, success boolean NOT NULL);"
     "INSERT INTO \"Deploys\" VALUES (1, '1', 'users', 'SQL', 'V1__users.sql', NULL, 1, true), "
     "(2, '1.1', 'email', 'SQL', 'V1_1__email.sql', NULL, 1, true);"),
])
def test_a_history_table_under_another_name_is_read_where_the_setting_names_it(
        runner: str, renamed: str, history: str, tmp_path: Path, database_url: str) -> None:
    _project(tmp_path, runner)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + history)
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with pytest.raises(DbsafeError, match="sql-migrations-history-table"):
        commands.drift(settings)  # not under its runner's own name: none dbsafe reads
    # (Quoted where the catalog's name needs it.)
    named = f'"{renamed}"' if renamed != renamed.lower() else renamed
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.dbsafe]\nsql-migrations-history-table = '{named}'\n")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    # Behind, not drift; nor is the runner's table, under either name.
    assert commands.drift(settings).findings == ()
    report = commands.status(settings)
    assert report.summary["current"] == [RUNNERS[runner][0][1]]
    assert report.summary["lines"][0].endswith(f"by {runner}'s {renamed if '.' in renamed else 'public.' + renamed})")
    # What else the runner's schema holds is compared.
    schema = renamed.partition(".")[0] if "." in renamed else "public"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE INDEX users_email ON users (email); "
                     f"CREATE TABLE {schema}.hand_made (id int)")
    found = {(f.code, f.subject) for f in commands.drift(settings).findings}
    assert found == {("DBS402", "public.users.users_email"), ("DBS402", f"{schema}.hand_made")}


def test_a_history_table_setting_naming_no_runner_s_table_is_an_error(
        tmp_path: Path, database_url: str) -> None:
    _project(tmp_path, "golang-migrate")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.dbsafe]\nsql-migrations-history-table = 'app.versions'\n")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with pytest.raises(DbsafeError, match=r"app\.versions .* is not in the database"):
        commands.drift(settings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app; CREATE TABLE app.versions (name text)")
    with pytest.raises(DbsafeError, match=r"is no history table of a runner dbsafe reads"):
        commands.status(settings)


def test_status_without_a_history_on_a_database_with_tables_is_an_error(
        tmp_path: Path, database_url: str) -> None:
    # "none applied" is true of a new database; of one whose tables some migrations made,
    # with no history table dbsafe reads, it would send every file to run again.
    _project(tmp_path, "dbmate")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app; CREATE TABLE app.versions (name text)")
    with pytest.raises(DbsafeError, match=r"holds 1 table\(s\) \(app\.versions, \.\.\.\) but "
                                          r"no migration history table"):
        commands.status(settings)
    result = subprocess.run([sys.executable, "-m", "dbsafe", "status", "--database-url",
                             database_url], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result


def test_status_names_the_files_the_history_says_ran_and_the_pending_ones(
        tmp_path: Path, database_url: str) -> None:
    # dbsafe status on a folder: the same history table drift reads.
    from dbsafe.core import Severity

    _project(tmp_path, "dbmate")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert report.summary["lines"][0].startswith("current: none applied (0 of 3 files")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS["dbmate"][1])
    report = commands.status(settings, fail_on_pending=True)
    assert report.summary["current"] == ["db/migrations/20240102000000_email.sql"]
    assert report.summary["pending"] == [{"migration": "db/migrations/20240103000000_orders.sql"}]
    [pending] = report.findings
    assert pending.code == "DBS606" and report.fails(Severity.ERROR)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[2] + "INSERT INTO schema_migrations VALUES ('20240103000000')")
    assert commands.status(settings, fail_on_pending=True).findings == ()




@pytest.mark.parametrize("runner", ["dbmate", "goose"])
def test_two_files_of_one_version_are_said_by_status_and_drift(
        tmp_path: Path, database_url: str, runner: str) -> None:
    # A branch's migration merged beside another's of the same version: goose refuses the
    # folder, dbmate never runs the one whose version a database already holds. `lint` and
    # `verify-lock` said DBS424 (task 413); `status` and `drift` on that database said
    # nothing (task 433).
    _project(tmp_path, runner)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS[runner][1])
    second = RUNNERS[runner][0][1]
    twin = second.replace("_email", "_tags")
    (tmp_path / twin).write_text((tmp_path / second).read_text().replace(
        "ALTER TABLE users ADD COLUMN email text", "CREATE TABLE tags (id int)"))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    version = "20240102000000" if runner == "dbmate" else "2"
    for report in (commands.status(settings), commands.drift(settings)):
        said = [f for f in report.findings if f.code == "DBS424"]
        assert [(f.subject, f.severity) for f in said] == [(f"{second},{twin}", Severity.ERROR)]
        assert said[0].message.startswith(
            f"Migrations `{second}` and `{twin}` share version {version}: "
            + ("goose refuses" if runner == "goose" else "dbmate runs the first"))
        assert report.fails(Severity.ERROR)
    # `ignore` leaves it out, as it does of lint's and verify-lock's
    ignored = load_settings(tmp_path, {"database-url": database_url, "ignore": ["DBS424"]},
                            environ={})
    assert commands.status(ignored).findings == ()
    assert "DBS424" not in {f.code for f in commands.drift(ignored).findings}


def test_the_reference_of_a_dbmate_folder_has_dbmate_s_history_table(
        tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # dbmate makes `schema_migrations` before its first file runs, and bionic-gpt's first
    # migration grants SELECT on it: building the reference said 42P01 on stderr, and lost
    # what the rest of that statement would have made.
    _project(tmp_path, "dbmate")
    first = tmp_path / RUNNERS["dbmate"][0][0]
    first.write_text(first.read_text() + "COMMENT ON TABLE schema_migrations IS 'dbmate';\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS["dbmate"][1]
                     + "COMMENT ON TABLE schema_migrations IS 'dbmate';")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with caplog.at_level(logging.WARNING, logger="dbsafe"):
        assert commands.drift(settings).findings == ()
    assert "failed on the throwaway server" not in caplog.text


def test_a_dbmate_version_is_the_name_s_leading_digits_and_a_file_without_them_never_runs(
        tmp_path: Path, database_url: str) -> None:
    # dbmate 2.36.0 matches `^(\d+).*\.sql$`: it applied `20240105-dash.sql` as version
    # 20240105 (dbsafe: "holds version(s) 20240105 that db/migrations has no file for",
    # exit 2) and skips `seed.sql` (its `status`: "Pending: 0"; dbsafe's: pending 1).
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_users.sql").write_text(
        f"-- migrate:up\n{_UPS[0]}\n-- migrate:down\nDROP TABLE users;\n")
    (folder / "20240105120000-tags.sql").write_text(
        "-- migrate:up\nCREATE TABLE tags (id int);\n-- migrate:down\nDROP TABLE tags;\n")
    (folder / "seed.sql").write_text("INSERT INTO users VALUES (1, 'a');\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + "CREATE TABLE tags (id int);"
                     "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
                     "INSERT INTO schema_migrations VALUES ('20240101000000'), "
                     "('20240105120000');")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings, fail_on_pending=True)
    assert report.summary["current"] == ["db/migrations/20240105120000-tags.sql"]
    assert report.summary["pending"] == [] and report.findings == ()
    assert commands.drift(settings).findings == ()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = '20240105120000'")
    report = commands.status(settings, fail_on_pending=True)
    assert report.summary["pending"] == [{"migration": "db/migrations/20240105120000-tags.sql"}]

# Per runner: its files for the three migrations (name and text) and its history table after
# the first two ran, as each wrote them applying such a folder to PostgreSQL 15
# (node-pg-migrate 9.0.0 `up`, graphile-migrate 1.4.1 `commit`/`migrate`, drizzle-kit 0.31.11
# `generate`/`migrate` with drizzle-orm 0.45.4).
_JS_RUNNERS = {
    "node-pg-migrate": (
        {f"db/migrations/170000000000{i}_{n}.sql":
         f"-- Up Migration\n{sql}\n\n-- Down Migration\nSELECT 1;\n"
         for i, (n, sql) in enumerate(zip(("users", "email", "orders"), _UPS, strict=True))},
        "CREATE TABLE public.pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, "
        "run_on timestamp NOT NULL);"
        "INSERT INTO public.pgmigrations (name, run_on) VALUES "
        "('1700000000000_users', now()), ('1700000000001_email', now());"),
    # The current migration is never recorded, nor run by `graphile-migrate migrate`.
    "graphile-migrate": (
        {**{f"db/migrations/committed/00000{i}.sql":
            f"--! Previous: {f'sha1:{i - 1}' if i > 1 else '-'}\n--! Hash: sha1:{i}\n\n{sql}\n"
            for i, sql in enumerate(_UPS[:2], 1)},
         "db/migrations/current.sql": f"{_UPS[2]}\n"},
        "CREATE SCHEMA graphile_migrate; CREATE TABLE graphile_migrate.migrations (hash text "
        "PRIMARY KEY, previous_hash text REFERENCES graphile_migrate.migrations, filename text "
        "NOT NULL, date timestamptz NOT NULL DEFAULT now());"
        "CREATE TABLE graphile_migrate.current (filename text PRIMARY KEY DEFAULT "
        "'current.sql', content text NOT NULL, date timestamptz NOT NULL DEFAULT now());"
        "INSERT INTO graphile_migrate.migrations (hash, previous_hash, filename) VALUES "
        "('sha1:1', NULL, '000001.sql'), ('sha1:2', 'sha1:1', '000002.sql');"),
    # A row per journal entry run, `created_at` its `when`: the rows say nothing of files.
    "drizzle": (
        {**{f"drizzle/000{i}_{n}.sql": f"{sql}\n"
            for i, (n, sql) in enumerate(zip(("users", "email", "orders"), _UPS, strict=True))},
         "drizzle/meta/_journal.json": json.dumps({"version": "7", "dialect": "postgresql",
                                                   "entries": [
             {"idx": i, "version": "7", "when": 1796475137544 + i, "tag": f"000{i}_{n}",
              "breakpoints": True} for i, n in enumerate(("users", "email", "orders"))]})},
        "CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY "
        "KEY, hash text NOT NULL, created_at bigint);"
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES "
        "('2768567a', 1796475137544), ('995c1098', 1796475137545);"),
}


@pytest.mark.parametrize("runner", sorted(_JS_RUNNERS))
def test_node_runners_histories_say_which_files_ran(
        runner: str, tmp_path: Path, database_url: str) -> None:
    # Their tables were none dbsafe read: status and drift were exit 2 on a database they
    # migrated ("holds 3 table(s) ... but no migration history table").
    files, history = _JS_RUNNERS[runner]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + history)
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings, fail_on_pending=True)
    second, third = [n for n in files if not n.endswith(".json")][1:]
    assert report.summary["current"] == [second]
    assert report.summary["lines"][0].endswith(f"by {runner}'s "
                                               f"{RUNNER_TABLES[runner]})")
    if runner == "graphile-migrate":  # current.sql is not committed: nothing is pending
        assert report.summary["pending"] == [] and report.findings == ()
    else:
        assert report.summary["pending"] == [{"migration": third}]
        assert [f.code for f in report.findings] == ["DBS606"]
    assert commands.drift(settings).findings == ()  # behind; the runner's table not compared

    _index_by_hand_is_drift(settings, database_url, "users_email", "email")


def test_node_pg_migrate_refusing_a_file_added_before_the_last_one_run_is_a_finding(
        tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate 9.0.0 ran 1700000000000_users and 1700000000002_orders, then
    # 1700000000001_email was added: its `up` (checkOrder, on by default) exits 1 with
    # "Not run migration 1700000000001_email is preceding already run migration
    # 1700000000002_orders", and still does after `up --no-check-order` ran it (its rows are
    # compared in run order). status said one file was pending, then nothing, exit 0.
    files, _history = _JS_RUNNERS["node-pg-migrate"]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    said = ("node-pg-migrate refuses to migrate the database: Not run migration "
            "1700000000001_email is preceding already run migration 1700000000002_orders.")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[2] + "CREATE TABLE public.pgmigrations (id serial PRIMARY "
                     "KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);"
                     "INSERT INTO public.pgmigrations (name, run_on) VALUES "
                     "('1700000000000_users', now()), ('1700000000002_orders', now());")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert [(f.code, f.message) for f in report.findings] == [("DBS612", said)]
    assert report.summary["pending"] == [{"migration": "db/migrations/1700000000001_email.sql"}]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[1] + "INSERT INTO public.pgmigrations (name, run_on) VALUES "
                     "('1700000000001_email', now() + interval '1 minute')")
    report = commands.status(settings)
    assert [(f.code, f.message) for f in report.findings] == [("DBS612", said)]
    assert report.summary["pending"] == []
    assert commands.drift(settings).findings == ()  # what ran is the schema: no drift


def test_node_pg_migrate_orders_a_seventeen_digit_number_as_the_moment_it_spells(
        tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate 9.0.0 read 20240101000000000_a as 2024-01-01 (getNumericPrefix), so
    # ran it before 1800000000000_b (2027); 1750000000000_c added since lies between them:
    # "Not run migration 1750000000000_c is preceding already run migration
    # 1800000000000_b". Compared as plain numbers, c came first and the message named a.
    # It reads no subfolder (fixtures/1600000000000_fx.sql is none of its files).
    folder = tmp_path / "db" / "migrations"
    (folder / "fixtures").mkdir(parents=True)
    (folder / "fixtures" / "1600000000000_fx.sql").write_text("CREATE TABLE fx (id int);\n")
    for name in ("20240101000000000_a", "1800000000000_b", "1750000000000_c"):
        (folder / f"{name}.sql").write_text(
            f"-- Up Migration\nCREATE TABLE {name[-1]} (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE TABLE "
                     "public.pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, "
                     "run_on timestamp NOT NULL); INSERT INTO public.pgmigrations (name, run_on) "
                     "VALUES ('20240101000000000_a', now()), ('1800000000000_b', now());")
    report = commands.status(load_settings(tmp_path, {"database-url": database_url},
                                           environ={}))
    assert [f.message for f in report.findings if f.code == "DBS612"] == [
        "node-pg-migrate refuses to migrate the database: Not run migration 1750000000000_c "
        "is preceding already run migration 1800000000000_b."]


@pytest.mark.parametrize("place", ["migrations", "db/migrations"])
def test_node_pg_migrate_folder_is_built_in_its_order_of_seventeen_and_thirteen_digits(
        place: str, tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate 9.0.0 `up` ran 20230101000000000_a (2023-01-01, its `utc` names) before
    # 1700000000000_c (2023-11-14, `Date.now()` names) and recorded them so. dbsafe built
    # the folder by number, c's ALTER before a's CREATE: drift said column t.c was not in
    # the migrations (DBS402) and status that a was the current one. Names of one number
    # it compares as localeCompare does, lower case first: 1800000000000_a.sql (CREATE TABLE
    # u) ran before 1800000000000_A.sql (its ALTER), where dbsafe took A first (DBS402 u.d).
    # Its `-m db/migrations`, no folder dbsafe tells as its own: its history table says so.
    (tmp_path / "package.json").write_text('{"devDependencies": {"node-pg-migrate": "^9.0.0"}}')
    folder = tmp_path / place
    folder.mkdir(parents=True)
    (folder / "1800000000000_a.sql").write_text("-- Up Migration\nCREATE TABLE u (id int);\n")
    (folder / "1800000000000_A.sql").write_text(
        "-- Up Migration\nALTER TABLE u ADD COLUMN d int;\n")
    (folder / "20230101000000000_a.sql").write_text(
        "-- Up Migration\nCREATE TABLE t (id int);\n-- Down Migration\nDROP TABLE t;\n")
    (folder / "1700000000000_c.sql").write_text(
        "-- Up Migration\nALTER TABLE t ADD COLUMN c int;\n"
        "-- Down Migration\nALTER TABLE t DROP COLUMN c;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int, c int); CREATE TABLE u (id int, d int); CREATE "
                     "TABLE public.pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT "
                     "NULL, run_on timestamp NOT NULL); INSERT INTO public.pgmigrations (name, "
                     "run_on) VALUES ('20230101000000000_a', now()), ('1700000000000_c', now()), "
                     "('1800000000000_a', now()), ('1800000000000_A', now());")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings, fail_on_pending=True)
    assert report.findings == () and report.summary["pending"] == []
    assert report.summary["current"] == [f"{place}/1800000000000_A.sql"]
    assert commands.drift(settings).findings == ()


def test_node_pg_migrate_runs_no_file_of_a_subfolder_of_its_migrations(
        tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate 9.0.0 reads the files of its `migrations` folder alone: a
    # fixtures/1600000000000_fx.sql beside them was pending in status ("pending: 1", DBS606
    # with --fail-on-pending), and built into the schema, where its `up --dry-run` said only
    # what the folder itself holds.
    (tmp_path / "package.json").write_text('{"devDependencies": {"node-pg-migrate": "^9.0.0"}}')
    folder = tmp_path / "migrations"
    (folder / "fixtures").mkdir(parents=True)
    (folder / "1700000000000_users.sql").write_text(f"-- Up Migration\n{_UPS[0]}\n")
    (folder / "fixtures" / "1600000000000_fx.sql").write_text("CREATE TABLE fx (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + "CREATE TABLE public.pgmigrations (id serial PRIMARY KEY, name "
                     "varchar(255) NOT NULL, run_on timestamp NOT NULL); INSERT INTO "
                     "public.pgmigrations (name, run_on) VALUES ('1700000000000_users', now());")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings, fail_on_pending=True)
    assert report.findings == () and report.summary["pending"] == []
    assert report.summary["current"] == ["migrations/1700000000000_users.sql"]


def test_a_drizzle_journal_entry_older_than_the_last_one_run_never_runs_and_is_said_so(
        tmp_path: Path, database_url: str) -> None:
    # drizzle-kit 0.31.11 `migrate` (drizzle-orm 0.45.4) ran 0000_users and 0001_orders;
    # then a branch's 0002_email came in with an older `when`: `migrate` said "migrations
    # applied successfully!" and ran nothing, now or ever (`created_at < folderMillis`).
    # status said it was current at 0002_email, exit 0; drift said users.email was missing
    # (DBS401: "put the change in a migration, or undo it in the database").
    folder = tmp_path / "drizzle"
    (folder / "meta").mkdir(parents=True)
    whens = {"0000_users": 1796475137544, "0001_orders": 1796475137546,
             "0002_email": 1796475137545}
    for tag, sql in zip(whens, (_UPS[0], _UPS[2], _UPS[1]), strict=True):
        (folder / f"{tag}.sql").write_text(sql + "\n")
    (folder / "meta" / "_journal.json").write_text(json.dumps({
        "version": "7", "dialect": "postgresql", "entries": [
            {"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True}
            for i, (tag, when) in enumerate(whens.items())]}))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[2] + "CREATE SCHEMA drizzle; CREATE TABLE "
                     "drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, "
                     "created_at bigint); INSERT INTO drizzle.__drizzle_migrations (hash, "
                     "created_at) VALUES ('12a1ef51', 1796475137544), "
                     "('cde69151', 1796475137546);")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings, fail_on_pending=True)
    assert [(f.code, f.subject) for f in report.findings] == [
        ("DBS613", "drizzle/0002_email.sql")]
    assert report.summary["current"] == ["drizzle/0001_orders.sql"]
    assert report.summary["pending"] == []
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == [
        ("DBS613", "drizzle/0002_email.sql")]
    # One row inserted by hand to adopt drizzle on a database made before it: the entries
    # older than it are taken as run, as migrate() never runs them either.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[1] + "DELETE FROM drizzle.__drizzle_migrations WHERE created_at = "
                     "1796475137544")
    report = commands.status(settings, fail_on_pending=True)
    assert report.findings == () and report.summary["current"] == ["drizzle/0002_email.sql"]
    assert commands.drift(settings).findings == ()


def test_a_drizzle_kit_1_migration_older_than_the_last_one_run_is_pending(
        tmp_path: Path, database_url: str) -> None:
    # drizzle-orm 1.0 runs each migration of drizzle-kit 1.0's folder whose name no row of
    # its table has (`getMigrationsToRun`), whatever its timestamp: a branch's email
    # migration, merged after orders ran, runs at the next migrate. status said it was
    # current (0.x's rule: at or below the last row's `created_at`, and between two rows:
    # DBS613, never run).
    (tmp_path / "drizzle.config.ts").write_text(
        'export default { dialect: "postgresql", out: "./drizzle" }\n')
    names = {"20260101000000_users": _UPS[0], "20260103000000_orders": _UPS[2],
             "20260102000000_email": _UPS[1]}
    for name, sql in names.items():
        (tmp_path / "drizzle" / name).mkdir(parents=True)
        (tmp_path / "drizzle" / name / "migration.sql").write_text(sql + "\n")
        (tmp_path / "drizzle" / name / "snapshot.json").write_text(
            json.dumps({"version": "8", "dialect": "postgres"}))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[2] + "CREATE SCHEMA drizzle; CREATE TABLE "
                     "drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, "
                     "created_at bigint, name text, applied_at timestamptz DEFAULT now()); "
                     "INSERT INTO drizzle.__drizzle_migrations (hash, created_at, name) VALUES "
                     "('12a1ef51', 1767225600000, '20260101000000_users'), "
                     "('cde69151', 1767398400000, '20260103000000_orders');")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert report.findings == ()
    assert [p["migration"] for p in report.summary["pending"]] == [
        "drizzle/20260102000000_email/migration.sql"]
    assert commands.drift(settings).findings == ()
    # A table drizzle-orm 0.x made (no names): 1.0 names each row after the migration of
    # its timestamp before it runs anything, and runs the others.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE drizzle.__drizzle_migrations DROP COLUMN name")
    report = commands.status(settings)
    assert report.findings == ()
    assert [p["migration"] for p in report.summary["pending"]] == [
        "drizzle/20260102000000_email/migration.sql"]


def test_a_drizzle_kit_1_row_without_a_name_is_matched_by_its_hash_as_drizzle_orm_does(
        tmp_path: Path, database_url: str) -> None:
    # drizzle-orm 1.0 names the rows of a table 0.x made (`up-migrations/pg.ts`) after the
    # migration of the row's second; of several in that second, after the one of the row's
    # hash (sha256 of its migration.sql); with none in it, after the one of that hash.
    # dbsafe took every migration of the second as run (the email one, never run, was not
    # pending) and said a row of another second (0.x's `when`, to the millisecond, or
    # another) named no file (exit 2).
    import hashlib

    (tmp_path / "drizzle.config.ts").write_text(
        'export default { dialect: "postgresql", out: "./drizzle" }\n')
    names = {"20260101000000_a_users": _UPS[0], "20260101000000_b_email": _UPS[1],
             "20260103000000_orders": _UPS[2]}
    for name, sql in names.items():
        (tmp_path / "drizzle" / name).mkdir(parents=True)
        (tmp_path / "drizzle" / name / "migration.sql").write_text(sql + "\n")
        (tmp_path / "drizzle" / name / "snapshot.json").write_text(
            json.dumps({"version": "8", "dialect": "postgres"}))
    users, orders = (hashlib.sha256((names[n] + "\n").encode()).hexdigest()
                     for n in ("20260101000000_a_users", "20260103000000_orders"))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[2] + "CREATE SCHEMA drizzle; CREATE TABLE "
                     "drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, "
                     "created_at bigint)")
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES "
                     "(%s, 1767225600000), (%s, 1767398400000)", (users, orders))
    for rows in ("1767225600000, 1767398400000", "1767225600123, 1767398399000"):
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE drizzle.__drizzle_migrations SET created_at = (ARRAY["
                         + rows + "])[id]")
        report = commands.status(settings)
        assert report.findings == ()
        assert [p["migration"] for p in report.summary["pending"]] == [
            "drizzle/20260101000000_b_email/migration.sql"], rows
        assert commands.drift(settings).findings == ()


RUNNER_TABLES = {"node-pg-migrate": "public.pgmigrations",
                 "graphile-migrate": "graphile_migrate.migrations",
                 "drizzle": "drizzle.__drizzle_migrations"}

def _but_bundled_versions(findings: tuple[Finding, ...],
                          database_url: str) -> tuple[Finding, ...]:
    """`findings` but for the versions of the extensions bundled with the server, where the
    suite's server (DBSAFE_TEST_DATABASE_URL) is older than the embedded 18 the migrations
    are built on: those differ between major versions, and say so (docs/diff.md)."""
    with psycopg.connect(database_url) as conn:
        if conn.info.server_version >= 180000:
            return findings
    return tuple(f for f in findings if not (f.message.startswith("Extension `")
                                             and " differs in version: " in f.message))


def test_a_supabase_project_is_compared_without_the_platform_s_schemas(
        tmp_path: Path, database_url: str) -> None:
    # A Supabase database (the platform as dbsafe's stand-in makes it, and a schema the
    # platform manages that the stand-in does not make: pgbouncer) migrated by the CLI up to
    # its first file: no drift; a table made by hand is.
    from dbsafe.migrate.sqlfiles import apply_sql_migrations
    from dbsafe.sources import SqlFolder

    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_users.sql").write_text(_UPS[0] + "\n")
    (folder / "20240102000000_email.sql").write_text(_UPS[1] + "\n")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    first = SqlFolder.of(folder, settings).read()[:1]
    apply_sql_migrations(first, database_url, platform="supabase", runner="supabase",
                         reset_each_file=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA pgbouncer; INSERT INTO supabase_migrations.schema_migrations"
                     " (version) VALUES ('20240101000000')")
    assert [(f.code, f.subject) for f in _but_bundled_versions(
        commands.drift(settings).findings, database_url)] == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.notes (id int)")
    [finding] = _but_bundled_versions(commands.drift(settings).findings, database_url)
    assert finding.subject == "public.notes"


def test_an_event_trigger_made_by_hand_is_drift_supabase_s_own_are_not(
        tmp_path: Path, database_url: str) -> None:
    # The platform makes event triggers of its own (PostgREST's schema cache reload, the
    # grants pg_graphql, pg_cron and pg_net need), each running a function in `extensions`,
    # which the stand-in does not make: the platform's, not the migrations'.
    from dbsafe.migrate.sqlfiles import apply_sql_migrations
    from dbsafe.sources import SqlFolder

    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_users.sql").write_text(_UPS[0] + "\n")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    apply_sql_migrations(SqlFolder.of(folder, settings).read(), database_url,
                         platform="supabase", runner="supabase", reset_each_file=True)
    platform = [("pgrst_ddl_watch", "ddl_command_end", ""),
                ("pgrst_drop_watch", "sql_drop", ""),
                ("issue_pg_graphql_access", "ddl_command_end", "CREATE FUNCTION"),
                ("issue_graphql_placeholder", "sql_drop", "DROP EXTENSION"),
                ("issue_pg_cron_access", "ddl_command_end", "CREATE EXTENSION"),
                ("issue_pg_net_access", "ddl_command_end", "CREATE EXTENSION")]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO supabase_migrations.schema_migrations (version) "
                     "VALUES ('20240101000000')")
        for name, event, tag in platform:
            conn.execute(f"CREATE FUNCTION extensions.{name}() RETURNS event_trigger "
                         "LANGUAGE plpgsql AS 'BEGIN END'")
            conn.execute(f"CREATE EVENT TRIGGER {name} ON {event} "
                         + (f"WHEN TAG IN ('{tag}') " if tag else "")
                         + f"EXECUTE FUNCTION extensions.{name}()")
    assert _but_bundled_versions(commands.drift(settings).findings, database_url) == ()

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION public.audit() RETURNS event_trigger LANGUAGE plpgsql "
                      "AS 'BEGIN END'")
        conn.execute("CREATE EVENT TRIGGER audit_ddl ON ddl_command_end "
                     "EXECUTE FUNCTION public.audit()")
    assert [(f.code, f.subject) for f in _but_bundled_versions(
        commands.drift(settings).findings, database_url)] == [
        ("DBS402", "audit_ddl"), ("DBS402", "public.audit()")]


def test_an_event_trigger_disabled_by_hand_is_drift(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "db" / "migrations" / "1_audit.up.sql"
    path.parent.mkdir(parents=True)
    audit = ("CREATE FUNCTION audit() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';"
             "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION audit();")
    path.write_text(audit + "\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(audit + RUNNERS["golang-migrate"][1].replace("(2, false)", "(1, false)"))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER EVENT TRIGGER audit_ddl DISABLE")
    [finding] = commands.drift(settings).findings
    assert (finding.code, finding.subject) == ("DBS403", "audit_ddl")
    assert finding.message == ("Event trigger `audit_ddl` differs in enabled: disabled in the "
                               "database, origin in the migrations up to "
                               "db/migrations/1_audit.up.sql.")


def test_the_moment_postgresql_folded_into_a_view_is_not_drift(
        tmp_path: Path, database_url: str) -> None:
    # Lemmy's views until 2020: `'now'::timestamp` is stored as the moment the view was
    # made, so a database migrated in 2020 prints that day where the throwaway prints
    # today. A change to the rest of the view is still drift.
    made = ("CREATE TABLE users (id int, made timestamp DEFAULT {0});"
            "CREATE VIEW recent AS SELECT id FROM users WHERE made > ({0} - '1 mon'::interval)"
            "{1};")
    path = tmp_path / "db" / "migrations" / "1_users.up.sql"
    path.parent.mkdir(parents=True)
    path.write_text(made.format("'now'::timestamp", "") + "\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(made.format("'2020-05-06 07:08:09'::timestamp", "")
                     + RUNNERS["golang-migrate"][1].replace("(2, false)", "(1, false)"))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP VIEW recent; DROP TABLE users;"
                     + made.format("'2020-05-06 07:08:09'::timestamp", " AND id > 0"))
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS403" and finding.subject == "public.recent"


def test_a_column_made_nullable_by_hand_says_so_in_words(tmp_path: Path,
                                                          database_url: str) -> None:
    _project(tmp_path, "golang-migrate")
    (tmp_path / "db" / "migrations" / "1_users.up.sql").write_text(
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text);"
                     "ALTER TABLE users ADD COLUMN email text;" + RUNNERS["golang-migrate"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    [finding] = commands.drift(settings).findings
    assert finding.message == ("Column `public.users.name` is nullable in the database, "
                               "NOT NULL in the migrations up to db/migrations/2_email.up.sql.")


@pytest.mark.parametrize("sequence, expected", [
    # what `serial` makes, written out: the same catalogs (pg_depend 'a', no identity)
    ("CREATE SEQUENCE users_id_seq AS integer OWNED BY users.id", None),
    # a sequence made without AS integer is bigint: its type and maximum differ
    ("CREATE SEQUENCE users_id_seq OWNED BY users.id",
     "Column `public.users.id` differs in sequence: users_id_seq as bigint, max_value "
     "9223372036854775807 in the database, users_id_seq as integer, max_value 2147483647 in "
     "the migrations up to db/migrations/2_email.up.sql."),
    # not the column's: pg_get_serial_sequence finds none, DROP TABLE leaves it
    ("CREATE SEQUENCE users_id_seq AS integer",
     "Column `public.users.id` differs in sequence: users_id_seq not owned in the database, "
     "users_id_seq owned by public.users.id in the migrations up to "
     "db/migrations/2_email.up.sql."),
], ids=["as-serial", "bigint", "not-owned"])
def test_a_serial_made_by_hand_differs_as_its_column_not_as_a_sequence(
        tmp_path: Path, database_url: str, sequence: str, expected: str | None) -> None:
    _project(tmp_path, "golang-migrate")
    (tmp_path / "db" / "migrations" / "1_users.up.sql").write_text(
        "CREATE TABLE users (id serial PRIMARY KEY, name text);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE users (id integer NOT NULL PRIMARY KEY, name text); "
                     f"{sequence}; ALTER TABLE users ALTER id SET DEFAULT "
                     "nextval('users_id_seq'); ALTER TABLE users ADD COLUMN email text;"
                     + RUNNERS["golang-migrate"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.drift(settings)
    assert [f.message for f in report.findings] == ([expected] if expected else [])
    assert report.summary["differences"] == (1 if expected else 0)


_BODY = """CREATE FUNCTION bump(a int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF a > 0 THEN
        RETURN a + 1;
    END IF;
    RETURN 0;
END $$;
"""


# A language of plpgsql's own handler under another name: PostgreSQL keeps its body as
# written too, and nothing tells dbsafe whitespace is no syntax of it (PL/Python's is).
_STAND_IN = ("CREATE FUNCTION stand_in_handler() RETURNS language_handler "
             "AS '$libdir/plpgsql', 'plpgsql_call_handler' LANGUAGE c; "
             "CREATE LANGUAGE stand_in HANDLER stand_in_handler;\n")


@pytest.mark.parametrize("replaced, language, expected", [
    # reindented, spaces around `+` dropped: the same tokens
    ("a+1", "plpgsql", "Function `public.bump(a integer)` differs in definition only in "
     "whitespace (from line 6 of its definition: `IF a > 0 THEN` in the database, `IF a > 0 "
     "THEN` in the migrations up to db/migrations/2_email.up.sql); it runs the same."),
    # reindented, and one token changed further down: the excerpt is that token's line
    ("a + 2", "plpgsql", "Function `public.bump(a integer)` differs in definition at line 7 "
     "of its definition: `RETURN a + 2;` in the database, `RETURN a + 1;` in the migrations "
     "up to db/migrations/2_email.up.sql."),
    # reindented in a language other than sql and plpgsql: whitespace may be its syntax
    ("a+1", "stand_in", "Function `public.bump(a integer)` differs in definition at line 6 "
     "of its definition: `IF a > 0 THEN` in the database, `IF a > 0 THEN` in the migrations "
     "up to db/migrations/2_email.up.sql."),
    # reindented, a comment written in: the same tokens but for the comment, which the
    # scanner reads as a token of its own (a difference at its line, a warning, before)
    ("a + 1 /* one more */", "plpgsql", "Function `public.bump(a integer)` differs in "
     "definition only in comments (from line 7 of its definition: `RETURN a + 1 /* one more "
     "*/;` in the database, `RETURN a + 1;` in the migrations up to "
     "db/migrations/2_email.up.sql); it runs the same."),
], ids=["whitespace", "token", "whitespace-another-language", "comments"])
def test_a_function_reindented_by_hand_is_told_by_its_first_differing_token(
        tmp_path: Path, database_url: str, replaced: str, language: str, expected: str) -> None:
    _project(tmp_path, "golang-migrate")
    body = _BODY.replace("plpgsql", language)
    if language != "plpgsql":
        body = _STAND_IN + body
    (tmp_path / "db" / "migrations" / "1_users.up.sql").write_text(_UPS[0] + "\n" + body)
    by_hand = body.replace("    ", "  ").replace("a + 1", replaced)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + by_hand + RUNNERS["golang-migrate"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS403" and finding.message == expected
    assert finding.severity == (Severity.NOTE if "it runs the same" in expected
                                else Severity.WARNING)


def test_a_serial_s_sequence_renamed_by_hand_is_one_difference_and_renamed_back(
        tmp_path: Path, database_url: str) -> None:
    # The database's users_id_seq renamed users_ids (same column, same parameters): one
    # difference of the column, not a sequence dropped and one added; `--sql` renames it
    # back (it dropped it and created users_id_seq anew: the next id was 1, a duplicate).
    _project(tmp_path, "golang-migrate")
    (tmp_path / "db" / "migrations" / "1_users.up.sql").write_text(
        "CREATE TABLE users (id serial PRIMARY KEY, name text);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, name text); "
                     "ALTER SEQUENCE users_id_seq RENAME TO users_ids; "
                     "INSERT INTO users (name) VALUES ('a'), ('b'); "
                     "ALTER TABLE users ADD COLUMN email text;" + RUNNERS["golang-migrate"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.drift(settings)
    assert [f.message for f in report.findings] == [
        "Column `public.users.id` differs in sequence: users_ids in the database, "
        "users_id_seq in the migrations up to db/migrations/2_email.up.sql."]
    sql, differences = commands.drift_sql(settings)
    assert differences == 1
    assert [line for line in sql.splitlines() if "SEQUENCE" in line] == [
        "ALTER SEQUENCE public.users_ids RENAME TO users_id_seq;"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql)
        conn.execute("INSERT INTO users (name) VALUES ('c')")
        assert conn.execute("SELECT max(id) FROM users").fetchone() == (3,)
    assert commands.drift(settings).findings == ()


def test_a_sqitch_project_s_registry_says_which_changes_ran_reworked_ones_per_line(
        tmp_path: Path, database_url: str) -> None:
    # `users` is reworked after @v1: its first line runs deploy/users@v1.sql. The registry
    # holds the first `users` and `posts`: the reworked `users` is pending, not drift.
    plan = ("%syntax-version=1.0.0\n%project=blog\n\n"
            "users 2024-01-01T00:00:00Z A <a@example.com>\n"
            "posts [users] 2024-01-02T00:00:00Z A <a@example.com>\n"
            "@v1 2024-01-03T00:00:00Z A <a@example.com>\n"
            "users [users@v1] 2024-01-04T00:00:00Z A <a@example.com>\n")
    for name, text in {"sqitch.conf": "[core]\n\tengine = pg\n", "sqitch.plan": plan,
                       "deploy/users@v1.sql": "CREATE TABLE users (id int);\n",
                       "deploy/posts.sql": "CREATE TABLE posts (id int);\n",
                       "deploy/users.sql": "ALTER TABLE users ADD COLUMN name text;\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int); CREATE TABLE posts (id int);"
                     "CREATE SCHEMA sqitch; CREATE TABLE sqitch.changes (change_id text PRIMARY "
                     "KEY, change text NOT NULL, project text NOT NULL, committed_at timestamptz"
                     " NOT NULL DEFAULT clock_timestamp());"
                     "INSERT INTO sqitch.changes (change_id, change, project) VALUES "
                     "('1', 'users', 'blog'), ('2', 'posts', 'blog'), ('3', 'other', 'elsewhere')")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()
    report = commands.status(settings)
    assert report.summary["current"] == ["deploy/posts.sql"]
    assert report.summary["pending"] == [{"migration": "deploy/users.sql"}]


# river_migration as river makes it: its version 001 (a row per version), and as its version
# 005 rebuilds it (a row per version of each migration line).
_RIVER_001 = ("CREATE TABLE river_migration (id bigserial PRIMARY KEY, created_at timestamptz "
              "NOT NULL DEFAULT NOW(), version bigint NOT NULL, CONSTRAINT version CHECK "
              "(version >= 1)); CREATE UNIQUE INDEX ON river_migration USING btree(version);")
_RIVER_005 = ("CREATE TABLE river_migration (line TEXT NOT NULL, version bigint NOT NULL, "
              "created_at timestamptz NOT NULL DEFAULT NOW(), CONSTRAINT line_length CHECK "
              "(char_length(line) > 0 AND char_length(line) < 128), CONSTRAINT version_gte_1 "
              "CHECK (version >= 1), PRIMARY KEY (line, version));")


def _river_folder(folder: Path) -> None:
    # River's layout and names: NNN_name.up.sql / .down.sql, its version 001 making the table.
    folder.mkdir(parents=True)
    for i, sql in enumerate((_RIVER_001, *_UPS[:2]), 1):
        (folder / f"{i:03d}_step.up.sql").write_text(sql + "\n")
        (folder / f"{i:03d}_step.down.sql").write_text("SELECT 1;\n")


@pytest.mark.parametrize("table", ["001", "005"])
def test_river_s_river_migration_says_which_versions_of_the_main_line_ran(
        table: str, tmp_path: Path, database_url: str) -> None:
    _river_folder(tmp_path / "db" / "migrations")
    rows = "INSERT INTO river_migration (version) VALUES (1), (2);" if table == "001" else \
        "INSERT INTO river_migration (line, version) VALUES ('main', 1), ('main', 2), " \
        "('workflow', 1), ('workflow', 9);"  # another line's rows are not this folder's
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + (_RIVER_001 if table == "001" else _RIVER_005) + rows)
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()  # 003 has not run: behind
    report = commands.status(settings)
    assert report.summary["current"] == ["db/migrations/002_step.up.sql"]
    assert report.summary["pending"] == [{"migration": "db/migrations/003_step.up.sql"}]
    assert "by river's river_migration" in report.summary["lines"][0]

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE INDEX users_name ON users (name)")
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS402" and finding.subject == "public.users.users_name"


def test_a_river_line_is_the_folder_river_keeps_it_in(tmp_path: Path,
                                                      database_url: str) -> None:
    # migration/workflow/ holds the `workflow` line's files: main's rows are not its own.
    _river_folder(tmp_path / "river" / "migration" / "workflow")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_RIVER_005 + "INSERT INTO river_migration (line, version) VALUES "
                     "('main', 1), ('main', 2), ('main', 3), ('workflow', 1)")
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations": "river/migration/workflow"},
                             environ={})
    report = commands.status(settings)
    assert report.summary["current"] == ["river/migration/workflow/001_step.up.sql"]
    assert report.summary["applied"] == 1


@pytest.mark.parametrize("conf", [
    '[core]\n\tengine = pg\n[engine "pg"]\n\tregistry = Deploy_Meta\n',
    '[core]\n\tengine = pg\n\ttarget = prod\n[target "prod"]\n\turi = db:pg:blog\n'
    '\tregistry = Deploy_Meta\n'], ids=["engine", "target"])
def test_a_sqitch_registry_of_another_name_is_read_where_its_settings_say(
        conf: str, tmp_path: Path, database_url: str) -> None:
    # Sqitch's registry is the schema `engine.pg.registry` or the target's `registry` names
    # (`App::Sqitch::Target::registry`), made with `:"registry"`: a quoted name.
    plan = ("%syntax-version=1.0.0\n%project=blog\n\n"
            "users 2024-01-01T00:00:00Z A <a@example.com>\n"
            "posts [users] 2024-01-02T00:00:00Z A <a@example.com>\n")
    for name, text in {"sqitch.conf": conf, "sqitch.plan": plan,
                       "deploy/users.sql": "CREATE TABLE users (id int);\n",
                       "deploy/posts.sql": "CREATE TABLE posts (id int);\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE users (id int); CREATE SCHEMA "Deploy_Meta";'
                     'CREATE TABLE "Deploy_Meta".changes (change_id text PRIMARY KEY, change '
                     "text NOT NULL, project text NOT NULL, committed_at timestamptz NOT NULL "
                     'DEFAULT clock_timestamp()); INSERT INTO "Deploy_Meta".changes '
                     "(change_id, change, project) VALUES ('1', 'users', 'blog')")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert report.summary["current"] == ["deploy/users.sql"]
    assert report.summary["pending"] == [{"migration": "deploy/posts.sql"}]
    assert commands.drift(settings).findings == ()  # the registry's schema is not compared
    # ... but an application's own table named as the registry's is
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.changes (id int)")
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == [
        ("DBS402", "public.changes")]


@pytest.mark.parametrize("schema", ["river", "Jobs.v2"])
def test_river_told_a_schema_keeps_its_table_and_objects_there(
        schema: str, tmp_path: Path, database_url: str) -> None:
    # rivermigrate's `Config.Schema` (`river migrate-up --schema`): every object of its files
    # is made in that schema (`/* TEMPLATE: schema */` becomes `"schema".`), river_migration
    # too, and the schema is not on the search_path. A name with capitals and a dot is
    # named as SQL names it.
    _river_folder(tmp_path / "db" / "migrations")
    quoted = '"' + schema + '"'
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {quoted}; SET search_path = {quoted};" + _RIVER_001
                     + _UPS[0] + "INSERT INTO river_migration (version) VALUES (1), (2)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    shown = quoted if schema != schema.lower() else schema
    with pytest.raises(DbsafeError, match=f"{shown}.river_migration \\(river's\\) is a history"):
        commands.drift(settings)  # not on the search_path: the error says where it is
    with pytest.raises(DbsafeError, match=f"{shown}.river_migration \\(river's\\) is a history"):
        commands.status(settings)  # not "none applied" either

    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations-history-table":
                                            f"{quoted}.river_migration"}, environ={})
    assert commands.drift(settings).findings == ()  # river's objects where river made them
    report = commands.status(settings)
    assert report.summary["current"] == ["db/migrations/002_step.up.sql"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE INDEX users_name ON {quoted}.users (name)")
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS402" and finding.subject == f"{schema}.users.users_name"


@pytest.mark.parametrize(("runner", "named", "history"), [
    # golang-migrate's `x-migrations-table="Ops.v2"."schema_om"` with
    # `x-migrations-table-quoted=1`: schema `Ops.v2`, table schema_om
    ("golang-migrate", '"Ops.v2".schema_om',
     'CREATE SCHEMA "Ops.v2"; CREATE TABLE "Ops.v2".schema_om (version bigint PRIMARY KEY, '
     'dirty boolean NOT NULL); INSERT INTO "Ops.v2".schema_om VALUES (2, false);'),
    # goose's `-table Meta.goose_db_version` (its table in a schema of its own)
    ("goose", '"Meta".goose_db_version',
     'CREATE SCHEMA "Meta"; CREATE TABLE "Meta".goose_db_version (id serial PRIMARY KEY, '
     "version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());"
     'INSERT INTO "Meta".goose_db_version (version_id, is_applied) VALUES (0, true), (1, true),'
     " (2, true);"),
])
def test_a_history_table_in_a_schema_whose_name_needs_quotes_is_read(
        runner: str, named: str, history: str, tmp_path: Path, database_url: str) -> None:
    _project(tmp_path, runner)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + history)
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations-history-table": named}, environ={})
    assert commands.drift(settings).findings == ()
    assert commands.status(settings).summary["current"] == [RUNNERS[runner][0][1]]


def _search_path_app(database_url: str, how: str) -> str:
    """The URL of a session whose search_path starts at a schema `app`: the role's own
    (`ALTER ROLE ... IN DATABASE`, this test's database only) or the URL's `options`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        if how == "role":
            conn.execute(f"ALTER ROLE {conn.info.user} IN DATABASE {conn.info.dbname} "
                         "SET search_path = app, public")
            return database_url
    return database_url + "&options=-csearch_path%3Dapp,public"


_RUNNER_TABLES = {"golang-migrate": "schema_migrations", "dbmate": "schema_migrations",
                  "goose": "goose_db_version", "sql-migrate": "gorp_migrations"}


@pytest.mark.parametrize("how", ["role", "url"])
@pytest.mark.parametrize("runner", sorted(_RUNNER_TABLES))
def test_a_history_table_in_the_session_s_current_schema_is_read_there(
        runner: str, how: str, tmp_path: Path, database_url: str) -> None:
    # Connected with `app` first on its search path, golang-migrate makes its table in
    # `current_schema()`, dbmate in it (without a `search_path` URL parameter), goose and
    # sql-migrate under a bare name: `app.<table>`, and the files' tables beside it.
    _project(tmp_path, runner)
    url = _search_path_app(database_url, how)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS[runner][1])
        assert conn.execute("SELECT to_regclass('app.users') IS NOT NULL").fetchone() == (True,)
    settings = load_settings(tmp_path, {"database-url": url}, environ={})
    assert commands.drift(settings).findings == ()  # behind, built in `app` as they ran
    report = commands.status(settings)
    assert report.summary["current"] == [RUNNERS[runner][0][1]]
    assert report.summary["lines"][0].endswith(
        f"by {runner}'s app.{_RUNNER_TABLES[runner]})")
    assert "ran there" in " ".join(commands.lint(settings, [tmp_path]).summary["lines"])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE INDEX users_email ON users (email)")
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == [
        ("DBS402", "app.users.users_email")]


@pytest.mark.parametrize(("runner", "table"), [
    ("sqlx", "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text, "
             "installed_on timestamptz DEFAULT now(), success boolean NOT NULL, checksum bytea, "
             "execution_time bigint); INSERT INTO _sqlx_migrations VALUES (1, 'users', now(), "
             "true, '', 1)"),
    ("diesel", "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, "
               "run_on timestamp DEFAULT now()); "
               "INSERT INTO __diesel_schema_migrations VALUES ('20240101000000')"),
])
def test_sqlx_s_and_diesel_s_tables_made_unqualified_are_read_in_the_current_schema(
        runner: str, table: str, database_url: str) -> None:
    from dbsafe.migrate.histories import applied_versions

    url = _search_path_app(database_url, "role")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(table)  # as the runner makes it: unqualified
    found = applied_versions(url)
    assert found is not None
    assert (found[0].runner, found[0].table) == (runner, f"app.{table.split()[2]}")


def test_a_table_named_elsewhere_leaves_the_files_in_the_session_s_schema(
        tmp_path: Path, database_url: str) -> None:
    # golang-migrate's `x-migrations-table="migrations"."schema_migrations"` (quoted) puts
    # its table there; the files still run in its session's current schema, `app`.
    _project(tmp_path, "golang-migrate")
    url = _search_path_app(database_url, "role")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA migrations; CREATE TABLE migrations.schema_migrations "
                     "(version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO "
                     "migrations.schema_migrations VALUES (2, false);" + _UPS[0] + _UPS[1])
    settings = load_settings(tmp_path, {"database-url": url, "sql-migrations-history-table":
                                        "migrations.schema_migrations"}, environ={})
    assert commands.drift(settings).findings == ()
    assert commands.status(settings).summary["current"] == [RUNNERS["golang-migrate"][0][1]]


def test_goose_s_table_further_on_the_search_path_is_read_and_the_files_built_in_the_first(
        tmp_path: Path, database_url: str) -> None:
    # goose reads goose_db_version unqualified: public's, on a path `app, public`; its
    # session still makes the files' tables in `app`, its current schema.
    _project(tmp_path, "goose")
    url = _search_path_app(database_url, "url")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(RUNNERS["goose"][1])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1])
    settings = load_settings(tmp_path, {"database-url": url}, environ={})
    assert commands.status(settings).summary["lines"][0].endswith(
        "by goose's public.goose_db_version)")
    assert commands.drift(settings).findings == ()


def test_a_history_table_outside_the_session_s_current_schema_is_named_in_the_error(
        tmp_path: Path, database_url: str) -> None:
    # golang-migrate on this connection would make a new, empty app.schema_migrations and
    # run every file again: public's is not its, and the error says how to reach it.
    _project(tmp_path, "golang-migrate")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS["golang-migrate"][1])
    url = _search_path_app(database_url, "url")
    settings = load_settings(tmp_path, {"database-url": url}, environ={})
    message = (r"public\.schema_migrations \(golang-migrate's\) is a history table in another "
               r"schema: name the one to read in `sql-migrations-history-table`; golang-migrate "
               r"keeps it in its session's current schema \(this connection's is app\): where "
               r"it ran with public first on its search path, connect dbsafe so too")
    with pytest.raises(DbsafeError, match=message):
        commands.drift(settings)
    with pytest.raises(DbsafeError, match=message):
        commands.status(settings)


def _flyway_history(rows: list[tuple[int, str | None, str, str, str, int | None]],
                    table: str = "flyway_schema_history") -> str:
    """Flyway's history table as Flyway makes it, with successful `rows` (installed_rank,
    version, description, type, script, checksum); a checksum of None is none recorded,
    which Flyway's validation takes as matching its file (`isChecksumMatching`)."""
    values = ", ".join(
        "({}, {}, '{}', '{}', '{}', {}, 'app', now(), 1, true)".format(
            rank, "NULL" if version is None else f"'{version}'", description, kind,
            script.replace("'", "''"), "NULL" if checksum is None else checksum)
        for rank, version, description, kind, script, checksum in rows)
    return (f"CREATE TABLE {table} (installed_rank int PRIMARY KEY, version varchar(50), "
            "description varchar(200) NOT NULL, type varchar(20) NOT NULL, script "
            "varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL, "
            "installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, "
            f"success boolean NOT NULL); INSERT INTO {table} VALUES {values};")


def test_flyway_told_its_schemas_keeps_its_history_in_the_first_and_the_error_says_so(
        tmp_path: Path, database_url: str) -> None:
    # Flyway's `schemas = app`: its flyway_schema_history is app's (its default schema).
    _project(tmp_path, "flyway")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + "CREATE SCHEMA app; " + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", None),
             (2, "1.1", "email", "SQL", "V1_1__email.sql", None)], "app.flyway_schema_history"))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with pytest.raises(DbsafeError, match=r"app\.flyway_schema_history \(flyway's\) is a "
                                          r"history table in another schema: name the one"):
        commands.drift(settings)
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations-history-table":
                                            "app.flyway_schema_history"}, environ={})
    assert commands.status(settings).summary["current"] == [RUNNERS["flyway"][0][1]]


_SQITCH_PLAN = ("%syntax-version=1.0.0\n%project=blog\n\n"
                "users 2024-01-01T00:00:00Z A <a@example.com>\n"
                "posts [users] 2024-01-02T00:00:00Z A <a@example.com>\n")


def _sqitch(folder: Path, conf: str) -> None:
    for name, text in {"sqitch.conf": conf, "sqitch.plan": _SQITCH_PLAN,
                       "deploy/users.sql": "CREATE TABLE users (id int);\n",
                       "deploy/posts.sql": "CREATE INDEX users_id ON users (id);\n"}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def _registry(conn: psycopg.Connection, schema: str, *changes: str) -> None:
    conn.execute(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".changes (change_id text '
                 "PRIMARY KEY, change text NOT NULL, project text NOT NULL, committed_at "
                 "timestamptz NOT NULL DEFAULT clock_timestamp())")
    for change in changes:
        conn.execute(f'INSERT INTO "{schema}".changes (change_id, change, project) '
                     "VALUES (%s, %s, 'blog')", (change, change))


def test_lint_reads_the_sqitch_registry_its_settings_name_as_drift_and_status_do(
        tmp_path: Path, database_url: str) -> None:
    # `lint FOLDER --database-url` leaves out the changes the registry says ran: the
    # registry sqitch.conf names (`Deploy_Meta`), not Sqitch's default name.
    _sqitch(tmp_path, '[core]\n\tengine = pg\n[engine "pg"]\n\tregistry = Deploy_Meta\n')
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int)")
        _registry(conn, "Deploy_Meta", "users")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.status(settings).summary["current"] == ["deploy/users.sql"]
    report = commands.lint(settings, [tmp_path])
    assert "sqitch history (Deploy_Meta.changes) says 1 of these files ran there" in \
        " ".join(report.summary["lines"])
    assert report.summary["migrations"] == 1
    # The deploy folder alone, or a script, is the same project's.
    report = commands.lint(settings, [tmp_path / "deploy"])
    assert report.summary["migrations"] == 1


_TARGETS = ('[core]\n\tengine = pg\n[engine "pg"]\n\ttarget = dev\n\tregistry = dev_meta\n'
            '[target "dev"]\n\turi = db:pg:blog_dev\n'
            '[target "prod"]\n\turi = db:pg://db.example.com/blog\n\tregistry = prod_meta\n')


def test_the_sqitch_target_setting_picks_the_registry_sqitch_deploy_target_writes(
        tmp_path: Path, database_url: str) -> None:
    # `sqitch deploy prod` writes prod's registry (`prod_meta`); the default target, dev,
    # has the engine's (`dev_meta`), which this database does not have.
    _sqitch(tmp_path, _TARGETS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int)")
        _registry(conn, "prod_meta", "users")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with pytest.raises(DbsafeError, match="no migration history table"):
        commands.drift(settings)
    settings = load_settings(tmp_path, {"database-url": database_url},
                             environ={"DBSAFE_SQITCH_TARGET": "prod"})
    assert commands.drift(settings).findings == ()  # prod_meta is not compared
    report = commands.status(settings)
    assert report.summary["current"] == ["deploy/users.sql"]
    assert report.summary["lines"][0].endswith(
        "by sqitch's prod_meta.changes (named by sqitch.conf's [target \"prod\"] registry))")
    assert commands.lint(settings, [tmp_path]).summary["migrations"] == 1

    settings = load_settings(tmp_path, {"database-url": database_url, "sqitch-target": "qa"},
                             environ={})
    for command in (commands.status, commands.drift,
                    lambda s: commands.lint(s, [tmp_path])):
        with pytest.raises(DbsafeError, match=r'sqitch-target qa: .*sqitch.conf has no '
                                              r'\[target "qa"\] \(its targets: dev, prod\)'):
            command(settings)


def test_sqitch_s_own_target_variable_picks_the_registry_as_sqitch_deploy_does(
        tmp_path: Path, database_url: str) -> None:
    # `SQITCH_TARGET=prod sqitch deploy` writes prod's registry; dbsafe's own
    # DBSAFE_SQITCH_TARGET (or --sqitch-target) still wins over it.
    _sqitch(tmp_path, _TARGETS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int)")
        _registry(conn, "prod_meta", "users")
    settings = load_settings(tmp_path, {"database-url": database_url},
                             environ={"SQITCH_TARGET": "prod"})
    assert commands.drift(settings).findings == ()
    assert commands.status(settings).summary["lines"][0].endswith(
        "by sqitch's prod_meta.changes (named by sqitch.conf's [target \"prod\"] registry))")
    assert commands.lint(settings, [tmp_path]).summary["migrations"] == 1
    settings = load_settings(tmp_path, {"database-url": database_url},
                             environ={"SQITCH_TARGET": "prod", "DBSAFE_SQITCH_TARGET": "dev"})
    with pytest.raises(DbsafeError, match="no migration history table"):
        commands.drift(settings)


def test_a_sqitch_target_uri_s_password_is_not_said(tmp_path: Path, database_url: str) -> None:
    # A URI target reads the engine's and core's settings: not the default target's plan,
    # which dbsafe reads; the error names the target without its password.
    _sqitch(tmp_path, '[core]\n\tengine = pg\n\ttarget = dev\n'
                      '[target "dev"]\n\turi = db:pg:blog_dev\n\tplan_file = dev.plan\n')
    (tmp_path / "sqitch.plan").rename(tmp_path / "dev.plan")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={
        "SQITCH_TARGET": "db:pg://deployer:s3cret-pw@db.example.com/blog"})
    with pytest.raises(DbsafeError) as raised:
        commands.status(settings)
    assert "sqitch-target db:pg://deployer:***@db.example.com/blog: its plan" in \
        str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_a_sqitch_target_with_a_plan_of_its_own_is_an_error(
        tmp_path: Path, database_url: str) -> None:
    # dbsafe reads the default target's plan and scripts: another plan for prod is refused,
    # not compared against the wrong files.
    _sqitch(tmp_path, _TARGETS + "\tplan_file = prod.plan\n")
    (tmp_path / "prod.plan").write_text(_SQITCH_PLAN.split("posts")[0])
    settings = load_settings(tmp_path, {"database-url": database_url, "sqitch-target": "prod"},
                             environ={})
    with pytest.raises(DbsafeError, match="sqitch-target prod: its plan or deploy scripts are "
                                          "not those of"):
        commands.status(settings)


# yoyo's tables as its internal schema version 2 makes them (`yoyo apply`), in the schema
# first on the search_path.
_YOYO_TABLES = (
    'CREATE TABLE "_yoyo_migration" ("migration_hash" VARCHAR(64), "migration_id" '
    'VARCHAR(255), "applied_at_utc" TIMESTAMP, PRIMARY KEY ("migration_hash"));'
    'CREATE TABLE "_yoyo_log" ("id" VARCHAR(36), "migration_hash" VARCHAR(64), '
    '"migration_id" VARCHAR(255), "operation" VARCHAR(10), "username" VARCHAR(255), '
    '"hostname" VARCHAR(255), "comment" VARCHAR(255), "created_at_utc" TIMESTAMP, '
    'PRIMARY KEY ("id"));'
    'CREATE TABLE "_yoyo_version" ("version" INT NOT NULL PRIMARY KEY, "installed_at_utc" '
    "TIMESTAMP); INSERT INTO _yoyo_version VALUES (2, now());"
    'CREATE TABLE "yoyo_lock" ("locked" INT DEFAULT 1, "ctime" TIMESTAMP, "pid" INT NOT NULL, '
    'PRIMARY KEY ("locked"));')


def _yoyo_applied(*ids: str) -> str:
    import hashlib

    return "".join(f"INSERT INTO _yoyo_migration VALUES "
                   f"('{hashlib.sha256(i.encode()).hexdigest()}', '{i}', now());"
                   f"INSERT INTO _yoyo_log (id, migration_hash, migration_id, operation) "
                   f"VALUES ('{n}', 'x', '{i}', 'apply');" for n, i in enumerate(ids))


def _yoyo_project(root: Path) -> None:
    # IATI's bulk-data-service: `yoyo.ini` names `db-migrations`; each `<date>_NN_<random>`
    # migration depends on the one before, with its rollback beside it.
    (root / "yoyo.ini").write_text("[DEFAULT]\nsources = db-migrations\n")
    folder = root / "db-migrations"
    folder.mkdir()
    ids = ("20240531_01_iY5Qa", "20240827_01_pVOLG", "20250109_01_87Bsu")
    for number, (name, sql) in enumerate(zip(ids, _UPS, strict=True)):
        depends = ids[number - 1] if number else ""
        (folder / f"{name}.sql").write_text(f"--\n-- depends: {depends}\n\n{sql}\n")
        (folder / f"{name}.rollback.sql").write_text(f"-- depends: {depends}\nSELECT 1;\n")
    # run after every `yoyo apply`, never recorded
    (folder / "post-apply.sql").write_text("CREATE OR REPLACE VIEW user_ids AS "
                                           "SELECT id FROM users;\n")


def test_yoyo_s_history_says_which_migrations_ran(tmp_path: Path, database_url: str) -> None:
    _yoyo_project(tmp_path)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + "CREATE VIEW user_ids AS SELECT id FROM users;"
                     + _YOYO_TABLES + _yoyo_applied("20240531_01_iY5Qa", "20240827_01_pVOLG"))
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations": "db-migrations"}, environ={})
    # The third has not run: behind. yoyo's log, version and lock tables are the build's too.
    assert commands.drift(settings).findings == ()
    report = commands.status(settings)
    assert report.summary["current"] == ["db-migrations/20240827_01_pVOLG.sql"]
    assert report.summary["pending"] == [{"migration": "db-migrations/20250109_01_87Bsu.sql"}]
    assert "by yoyo's _yoyo_migration" in report.summary["lines"][0]

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE INDEX users_name ON users (name)")
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS402" and finding.subject == "public.users.users_name"


def test_a_yoyo_python_migration_that_ran_leaves_nothing_to_compare_with(
        tmp_path: Path, database_url: str) -> None:
    # A yoyo migration may be a Python module whose step is a function: code dbsafe does
    # not run, so the schema it leaves is not known.
    _yoyo_project(tmp_path)
    (tmp_path / "db-migrations" / "20240601_01_abcde.py").write_text(
        'from yoyo import step\n__depends__ = {"20240531_01_iY5Qa"}\n'
        'def apply_step(conn):\n    conn.cursor().execute("CREATE TABLE tags (id int)")\n'
        'steps = [step(apply_step, "DROP TABLE tags")]\n')
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + "CREATE TABLE tags (id int);" + _YOYO_TABLES
                     + _yoyo_applied("20240531_01_iY5Qa", "20240601_01_abcde"))
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations": "db-migrations"}, environ={})
    with pytest.raises(DbsafeError, match=r"yoyo applied 20240601_01_abcde\.py: Python "
                                          "migrations, which dbsafe does not run"):
        commands.drift(settings)


def test_a_yoyo_python_migration_of_sql_steps_is_compared_as_its_sql(
        tmp_path: Path, database_url: str) -> None:
    # `step("CREATE ...", "DROP ...")`: SQL written out, which dbsafe runs as yoyo sends it.
    _yoyo_project(tmp_path)
    (tmp_path / "db-migrations" / "20240601_01_abcde.py").write_text(
        'from yoyo import step\n__depends__ = {"20240531_01_iY5Qa"}\n'
        'steps = [step("CREATE TABLE tags (id int)", "DROP TABLE tags")]\n')
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + "CREATE TABLE tags (id int);"
                     "CREATE VIEW user_ids AS SELECT id FROM users;" + _YOYO_TABLES
                     + _yoyo_applied("20240531_01_iY5Qa", "20240601_01_abcde"))
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations": "db-migrations"}, environ={})
    assert commands.drift(settings).findings == ()
    assert commands.status(settings).summary["current"] == [
        "db-migrations/20240601_01_abcde.py"]

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tags ADD COLUMN label text")
    [finding] = commands.drift(settings).findings
    assert finding.code == "DBS402" and finding.subject == "public.tags.label"


_GOOSE_GO = """package migrations

import (
\t"context"
\t"database/sql"

\t"github.com/pressly/goose/v3"
)

func init() {
\tgoose.AddMigrationContext(upTags, downTags)
}

func upTags(ctx context.Context, tx *sql.Tx) error {
\t_, err := tx.ExecContext(ctx, "CREATE TABLE tags (id int)")
\treturn err
}

func downTags(ctx context.Context, tx *sql.Tx) error {
\t_, err := tx.ExecContext(ctx, "DROP TABLE tags")
\treturn err
}
"""


def test_a_goose_go_migration_that_ran_leaves_nothing_to_compare_with(
        tmp_path: Path, database_url: str) -> None:
    # goose runs Go migrations (`00004_tags.go`, registered with goose.AddMigration...)
    # with its SQL ones: code dbsafe does not run. Before it ran: behind, as before.
    _project(tmp_path, "goose")
    (tmp_path / "db" / "migrations" / "00004_tags.go").write_text(_GOOSE_GO)
    (tmp_path / "db" / "migrations" / "helpers_test.go").write_text("package migrations\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS["goose"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[2] + "CREATE TABLE tags (id int);"
                     "INSERT INTO goose_db_version (version_id, is_applied) "
                     "VALUES (3, true), (4, true)")
    with pytest.raises(DbsafeError, match=r"goose applied 00004_tags\.go: Go migrations, "
                                          "which dbsafe does not run"):
        commands.drift(settings)


def test_a_goose_go_migration_leaves_what_it_made_unknown_to_validate(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _project(tmp_path, "goose")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "q.sql").write_text("SELECT id FROM tags;\nSELECT nosuch FROM users;\n")
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert sorted((f.code, f.location.line) for f in report.findings) == [
        ("DBS301", 1), ("DBS302", 2)]

    (tmp_path / "db" / "migrations" / "00004_tags.go").write_text(_GOOSE_GO)
    report = commands.validate(load_settings(tmp_path, environ={}), [tmp_path / "src"])
    assert report.findings == ()  # what the Go migration made is not known: never missing
    assert "db/migrations/00004_tags.go is goose's Go migration, which dbsafe does not run" \
        in caplog.text


def test_flyway_reads_its_history_where_its_flyway_conf_keeps_it(
        tmp_path: Path, database_url: str) -> None:
    # flyway.conf's `schemas = app` and `table = deploys`: Flyway makes app, runs the
    # migrations with app first on the search_path and keeps its history in app.deploys.
    # dbsafe read public.flyway_schema_history only (exit 2 until the table was named again
    # in sql-migrations-history-table); a `${flyway:defaultSchema}` was a syntax error.
    _project(tmp_path, "flyway")
    (tmp_path / "flyway.conf").write_text(
        "flyway.locations=filesystem:db/migrations\nflyway.schemas=app,audit\n"
        "flyway.table=deploys\nflyway.placeholders.Audit=audit\n")
    (tmp_path / "db/migrations/V1_1__email.sql").write_text(
        "ALTER TABLE ${flyway:defaultSchema}.users ADD COLUMN email text;\n"
        "CREATE TABLE ${audit}.log (at timestamptz);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app; CREATE SCHEMA audit; SET search_path = app, public;"
                     + _UPS[0] + _UPS[1] + "CREATE TABLE audit.log (at timestamptz);"
                     "CREATE TABLE app.deploys (installed_rank int PRIMARY KEY, version "
                     "varchar(50), description varchar(200), type varchar(20), script "
                     "varchar(1000), checksum int, execution_time int, success boolean NOT "
                     "NULL); INSERT INTO app.deploys VALUES (1, '1', 'users', 'SQL', "
                     "'V1__users.sql', NULL, 1, true), (2, '1.1', 'email', 'SQL', "
                     "'V1_1__email.sql', NULL, 1, true);")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()
    assert commands.status(settings).summary["current"] == [RUNNERS["flyway"][0][1]]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit.log ADD COLUMN who text")
    [finding] = commands.drift(settings).findings
    assert finding.subject == "audit.log.who"


def test_flyway_s_history_is_read_by_the_file_names_its_configuration_gives(
        tmp_path: Path, database_url: str) -> None:
    # flyway.conf's sqlMigrationPrefix and sqlMigrationSeparator: Flyway's history records
    # the versions of Migration-1-users.sql, Migration-1.1-email.sql, ... dbsafe read
    # versions from V<version>__ names only: drift and status were exit 2 ("holds version(s)
    # 1, 1.1 that db/migrations has no file for").
    (tmp_path / "flyway.conf").write_text(
        "flyway.locations=filesystem:db/migrations\nflyway.sqlMigrationPrefix=Migration-\n"
        "flyway.sqlMigrationSeparator=-\n")
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name, sql in zip(("Migration-1-users.sql", "Migration-1.1-email.sql",
                          "Migration-2-orders.sql"), _UPS, strict=True):
        (folder / name).write_text(sql + "\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + RUNNERS["flyway"][1])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()
    summary = commands.status(settings).summary
    assert summary["current"] == ["db/migrations/Migration-1.1-email.sql"]
    assert summary["pending"] == [{"migration": "db/migrations/Migration-2-orders.sql"}]


def test_the_files_up_to_flyway_s_baseline_are_the_database_s_not_pending(
        tmp_path: Path, database_url: str) -> None:
    # `flyway baseline` (or baselineOnMigrate on a database with tables) at version 1.1:
    # its history's BASELINE row; Flyway never runs V1 and V1_1 there ("Below Baseline",
    # "Baseline"), what they make was there. dbsafe said V1 was pending and built the
    # reference from V1_1 on: its ALTER failed there and users was drift.
    _project(tmp_path, "flyway")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _flyway_history(
            [(1, "1.1", "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", None)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    summary = commands.status(settings).summary
    assert summary["current"] == [RUNNERS["flyway"][0][1]]
    assert summary["pending"] == [{"migration": RUNNERS["flyway"][0][2]}]
    assert commands.drift(settings).findings == ()
    # A baseline at a version no file has (0, or 1.0 beside V1__): the files up to it.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET version = '1.0.5'")
        conn.execute("ALTER TABLE users DROP COLUMN email")
    summary = commands.status(settings).summary
    assert summary["current"] == [RUNNERS["flyway"][0][0]]
    assert commands.drift(settings).findings == ()


def _flyway_v1_v2_applied(tmp_path: Path, database_url: str) -> Settings:
    """The Flyway project (V1, V1_1, V2) with V1 and V2 applied, as Flyway records them: V1_1
    came in since (a branch merged late). Its settings."""
    _project(tmp_path, "flyway")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[2] + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", None),
             (2, "2", "orders", "SQL", "V2__orders.sql", None)]))
    return load_settings(tmp_path, {"database-url": database_url}, environ={})


def test_a_flyway_version_below_the_last_one_applied_is_run_refused_or_skipped_as_configured(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # V1 and V2 ran; V1_1 came in since (a branch merged late). Flyway's migrate validates
    # first (validateOnMigrate): V1_1 is IGNORED (below the last applied, outOfOrder false)
    # and fails it: "Validate failed: ... Detected resolved migration not applied to
    # database: 1.1" (MigrationInfoImpl.validate), nothing runs. status said "pending: 1",
    # exit 0, whatever the configuration said.
    settings = _flyway_v1_v2_applied(tmp_path, database_url)
    late = {"migration": "db/migrations/V1_1__email.sql"}
    report = commands.status(settings)
    assert [(f.code, f.message) for f in report.findings] == [(
        "DBS612", "flyway refuses to migrate the database: Validate failed: Detected resolved "
                  "migration not applied to database: 1.1.")]
    assert "-outOfOrder=true` on Flyway's command line dbsafe does not see" in \
        report.findings[0].help
    assert report.summary["pending"] == [late]
    assert commands.drift(settings).findings == ()  # what ran is the schema
    # outOfOrder: migrate runs it (state PENDING): pending, no refusal.
    (tmp_path / "flyway.toml").write_text("[flyway]\noutOfOrder = true\n")
    report = commands.status(settings)
    assert report.findings == () and report.summary["pending"] == [late]
    (tmp_path / "flyway.toml").unlink()
    monkeypatch.setenv("FLYWAY_OUT_OF_ORDER", "true")
    report = commands.status(settings)
    assert report.findings == () and report.summary["pending"] == [late]
    monkeypatch.delenv("FLYWAY_OUT_OF_ORDER")
    # validateOnMigrate off (or `*:ignored` ignored): migrate skips it, now and ever.
    for conf in ("flyway.validateOnMigrate=false\n",
                 "flyway.ignoreMigrationPatterns=*:future,versioned:ignored\n"):
        (tmp_path / "flyway.conf").write_text(conf)
        report = commands.status(settings, fail_on_pending=True)
        assert [(f.code, f.subject) for f in report.findings] == [
            ("DBS613", late["migration"])]
        assert report.summary["pending"] == []
        assert [f.code for f in commands.drift(settings).findings] == ["DBS613"]


def test_flyway_7_and_8_s_ignore_state_settings_are_the_patterns_flyway_9_reads_as_them(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Flyway 7 and 8 validate with `ignoreIgnoredMigrations`, `ignoreFutureMigrations`, ...
    # (MigrationInfoImpl.validate, 8.5.13: `!context.ignored && IGNORED == state`, `state.
    # isFailed() && (!context.future || FUTURE_FAILED != state)`; DbMigrate.migrateGroup:
    # `isIgnoreFutureMigrations()`), which Flyway 9 replaced by the patterns its
    # ValidatePatternUtils reads back as them (`*:ignored`, `*:future`); Flyway 8's
    # ignoreMigrationPatterns is empty untold, its ignoreFutureMigrations true. dbsafe read
    # none of them: V1_1, below V2 and never run, was DBS612 where Flyway 8 skips it.
    settings = _flyway_v1_v2_applied(tmp_path, database_url)
    late = "db/migrations/V1_1__email.sql"
    (tmp_path / "flyway.conf").write_text("flyway.ignoreIgnoredMigrations=true\n")
    assert [(f.code, f.subject) for f in commands.status(settings).findings] == [
        ("DBS613", late)]
    (tmp_path / "flyway.conf").write_text("flyway.ignoreIgnoredMigrations=false\n")
    assert [f.code for f in commands.status(settings).findings] == ["DBS612"]
    (tmp_path / "flyway.conf").unlink()
    monkeypatch.setenv("FLYWAY_IGNORE_IGNORED_MIGRATIONS", "true")
    assert [(f.code, f.subject) for f in commands.status(settings).findings] == [
        ("DBS613", late)]
    monkeypatch.delenv("FLYWAY_IGNORE_IGNORED_MIGRATIONS")
    # A failed row at a version past every file's (FUTURE_FAILED): passed, unless
    # ignoreFutureMigrations=false; a Flyway 8 pattern leaves its future flag as it is.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[1] + "INSERT INTO flyway_schema_history VALUES (3, '1.1', 'email', "
                     "'SQL', 'V1_1__email.sql', NULL, 'app', now(), 1, true), (4, '9', "
                     "'later', 'SQL', 'V9__later.sql', NULL, 'app', now(), 1, false)")
    assert commands.status(settings).findings == ()
    (tmp_path / "flyway.conf").write_text("flyway.ignoreFutureMigrations=false\n")
    assert [f.message for f in commands.status(settings).findings] == [
        "flyway refuses to migrate the database: Validate failed: Detected failed migration "
        "to version 9 (later)."]
    (tmp_path / "flyway.conf").write_text(
        "flyway.ignoreFutureMigrations=false\nflyway.validateOnMigrate=false\n")
    assert [f.message for f in commands.status(settings).findings] == [
        'flyway refuses to migrate the database: Schema "public" contains a failed migration '
        "to version 9 !"]
    (tmp_path / "flyway.conf").write_text(
        "flyway.ignoreMigrationPatterns=*:pending\nflyway.ignorePendingMigrations=true\n")
    assert commands.status(settings).findings == ()


def test_a_flyway_row_no_file_resolves_is_refused_or_passed_as_flyway_s_validation_does(
        tmp_path: Path, database_url: str) -> None:
    # V1_1 ran, then its file left the folder (another branch, deleted). Flyway's validation
    # (validateOnMigrate) takes its row for `Missing` (below V2, the latest file; at or past
    # it `Future`: BaseAppliedMigration.getMissingState) and fails: "Validate failed:
    # Detected applied migration not resolved locally: 1.1" (MigrationInfoImpl.validate),
    # unless ignoreMigrationPatterns passes it (`*:missing`; Flyway 8's
    # ignoreMissingMigrations; a future one `*:future`, its default). dbsafe was exit 2
    # ("holds version(s) 1.1 that db/migrations has no file for") whatever the configuration.
    _project(tmp_path, "flyway")
    (tmp_path / "db/migrations/V1_1__email.sql").unlink()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _UPS[2] + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", None),
             (2, "1.1", "email", "SQL", "V1_1__email.sql", None),
             (3, "2", "orders", "SQL", "V2__orders.sql", None)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    refused = [("DBS612", "flyway refuses to migrate the database: Validate failed: Detected "
                          "applied migration not resolved locally: 1.1.")]
    report = commands.status(settings)
    assert [(f.code, f.message) for f in report.findings] == refused
    assert report.findings[0].help is not None and "'*:missing'" in report.findings[0].help
    assert report.summary["current"] == ["db/migrations/V2__orders.sql"]
    drift = commands.drift(settings)
    assert [(f.code, f.message) for f in drift.findings if f.code == "DBS612"] == refused
    assert "public.users.email" in [f.subject for f in drift.findings]  # V1_1's, no file's
    # Passed: Flyway validates and migrates; status and drift go on, saying it.
    for conf in ("flyway.ignoreMigrationPatterns=*:missing\n",
                 "flyway.ignoreMigrationPatterns=versioned:missing\n",
                 "flyway.ignoreMissingMigrations=true\n", "flyway.validateOnMigrate=false\n"):
        (tmp_path / "flyway.conf").write_text(conf)
        report = commands.status(settings, fail_on_pending=True)
        assert report.findings == (), conf
        assert "  1.1 (missing)" in report.summary["lines"]
        assert (report.summary["applied"], report.summary["pending"]) == (2, [])
        drift = commands.drift(settings)
        assert [f.subject for f in drift.findings] == ["public.users.email"], conf
    # A pattern for another state leaves it refused (Flyway 9's list replaces its default).
    (tmp_path / "flyway.conf").write_text("flyway.ignoreMigrationPatterns=*:ignored\n")
    assert [(f.code, f.message) for f in commands.status(settings).findings] == refused
    # A row past the latest file's version is `Future`: Flyway's default passes it.
    (tmp_path / "db/migrations/V1_1__email.sql").write_text(_UPS[1] + "\n")
    (tmp_path / "db/migrations/V2__orders.sql").unlink()
    (tmp_path / "flyway.conf").unlink()
    report = commands.status(settings)
    assert report.findings == () and "  2 (future)" in report.summary["lines"]
    (tmp_path / "flyway.conf").write_text("flyway.ignoreMigrationPatterns=*:missing\n")
    [finding] = commands.status(settings).findings
    assert finding.message == ("flyway refuses to migrate the database: Validate failed: "
                               "Detected applied migration not resolved locally: 2.")
    assert finding.help is not None and "'*:future'" in finding.help


def test_a_flyway_repeatable_migration_its_history_records_ran_and_is_not_pending(
        tmp_path: Path, database_url: str) -> None:
    # Flyway records a repeatable migration's run with no version (its description, its
    # script); a schema it made, with no version either. status listed R__user_names.sql as
    # pending forever (DBS606 with --fail-on-pending) and drift left its view out of the
    # reference: DBS402 on the view every Flyway database with one has.
    _project(tmp_path, "flyway")
    (tmp_path / "db/migrations/R__user_names.sql").write_text(
        "CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + "CREATE OR REPLACE VIEW user_names AS SELECT name "
                     "FROM users; " + _flyway_history(
                         [(0, None, "<< Flyway Schema Creation >>", "SCHEMA", '"public"', None),
                          (1, "1", "users", "SQL", "V1__users.sql", None),
                          (2, "1.1", "email", "SQL", "V1_1__email.sql", None),
                          (3, None, "user names", "SQL", "R__user_names.sql", _USER_NAMES_SUM)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings, fail_on_pending=True)
    assert report.summary["current"] == [RUNNERS["flyway"][0][1]]
    assert report.summary["pending"] == [{"migration": RUNNERS["flyway"][0][2]}]
    assert commands.drift(settings).findings == ()


# The checksum Flyway records for R__user_names.sql below (CRC32 of its lines, as Java 17's
# CRC32 and BufferedReader give it run as Flyway's ChecksumCalculator runs them).
_USER_NAMES_SUM = -152910129


def test_a_flyway_repeatable_migration_edited_since_it_ran_is_pending_again(
        tmp_path: Path, database_url: str) -> None:
    # Flyway runs a repeatable migration again when its file's checksum is not the one its
    # latest run recorded ("Outdated" in `flyway info`). status said nothing was pending
    # but V2 and drift reported the view the edit changes as plain drift.
    _project(tmp_path, "flyway")
    view = tmp_path / "db/migrations/R__user_names.sql"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + "CREATE OR REPLACE VIEW user_names AS SELECT name "
                     "FROM users; " + _flyway_history(
                         [(1, "1", "users", "SQL", "V1__users.sql", None),
                          (2, "1.1", "email", "SQL", "V1_1__email.sql", None),
                          (3, None, "user names", "SQL", "R__user_names.sql", 7),
                          (4, None, "user names", "SQL", "R__user_names.sql", _USER_NAMES_SUM)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    orders = {"migration": RUNNERS["flyway"][0][2]}
    # The file it ran, with other line endings and a byte order mark: the same checksum.
    for text in (b"CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\n",
                 b"\xef\xbb\xbfCREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\r\n"):
        view.write_bytes(text)
        assert commands.status(settings).summary["pending"] == [orders]
    view.write_text("CREATE OR REPLACE VIEW user_names AS SELECT name, email FROM users;\n")
    report = commands.status(settings, fail_on_pending=True)
    assert report.summary["pending"] == [
        orders, {"migration": "db/migrations/R__user_names.sql", "again": True}]
    assert [f.code for f in report.findings] == ["DBS606"]
    assert "  db/migrations/R__user_names.sql (edited since it ran: Flyway runs it again)" in \
        report.summary["lines"]
    [finding] = commands.drift(settings).findings
    assert finding.subject == "public.user_names" and dict(finding.context)[
        "Edited since it ran"].startswith("db/migrations/R__user_names.sql: Flyway runs it")
    # Placeholders Flyway fills in: the checksum it recorded may be the filled file's.
    view.write_text("CREATE OR REPLACE VIEW user_names AS SELECT name FROM ${owner}.users;\n")
    (tmp_path / "flyway.conf").write_text("flyway.placeholders.owner=public\n")
    assert commands.status(settings).summary["pending"] == [orders]


# Flyway's SQL callbacks beside its migrations (Flyway itself is a Maven Central download,
# out of reach here: the database is built as its migrate runs them, `Event` and
# `SqlScriptCallbackFactory` read): beforeMigrate first, beforeEachMigrate in each
# migration's transaction, afterMigrate after all; the others never in a migrate.
_FLYWAY_CALLBACKS = {
    "beforeMigrate.sql": "CREATE SCHEMA IF NOT EXISTS app;",
    "beforeEachMigrate.sql": "SET LOCAL search_path = app, public;",
    "afterMigrate__grants.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA app TO PUBLIC;",
    "afterMigrateError.sql": "DROP TABLE app.users;",
    "beforeClean.sql": "DROP SCHEMA app CASCADE;",
}


def test_flyway_s_callbacks_run_where_its_migrate_runs_them_and_are_never_pending(
        tmp_path: Path, database_url: str) -> None:
    # Each callback was a migration run after the others: V1 failed for want of `app` (no
    # reference, drift exit 2), status listed all five as pending, afterMigrateError and
    # beforeClean ran in the build.
    _project(tmp_path, "flyway")
    for name, sql in _FLYWAY_CALLBACKS.items():
        (tmp_path / "db/migrations" / name).write_text(sql + "\n")
    each = _FLYWAY_CALLBACKS["beforeEachMigrate.sql"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_FLYWAY_CALLBACKS["beforeMigrate.sql"])
        for sql in _UPS[:2]:
            with conn.transaction():
                conn.execute(each + sql)
        conn.execute(RUNNERS["flyway"][1] + _FLYWAY_CALLBACKS["afterMigrate__grants.sql"])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    summary = commands.status(settings).summary
    assert summary["current"] == [RUNNERS["flyway"][0][1]]
    assert summary["pending"] == [{"migration": RUNNERS["flyway"][0][2]}]
    assert commands.drift(settings).findings == ()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON app.users FROM PUBLIC")
    [finding] = commands.drift(settings).findings  # afterMigrate's grant, undone by hand
    assert finding.code == "DBS403" and finding.subject == "app.users" \
        and "PUBLIC has SELECT in the migrations up to" in finding.message \
        and "=r/postgres" in dict(finding.context)["Target"]


def test_a_node_pg_migrate_javascript_migration_that_ran_leaves_nothing_to_compare_with(
        tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate 9.0.0 recorded `1700000000001_js` for `1700000000001_js.js`: code
    # dbsafe does not run ("holds version(s) ... that migrations has no file for" before).
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "1700000000000_users.sql").write_text(
        f"-- Up Migration\n{_UPS[0]}\n-- Down Migration\nDROP TABLE users;\n")
    (folder / "1700000000001_js.js").write_text(
        "exports.up = (pgm) => { pgm.createTable('jsmade', { id: 'id' }); };\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _JS_RUNNERS["node-pg-migrate"][1]
                     + "DELETE FROM pgmigrations WHERE name = '1700000000001_email'")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.drift(settings).findings == ()  # the JavaScript one has not run
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO pgmigrations (name, run_on) VALUES ('1700000000001_js', now())")
    with pytest.raises(DbsafeError, match=r"applied 1700000000001_js\.js: JavaScript "
                                          r"migrations, which dbsafe does not run"):
        commands.status(settings)


# Flyway's checksums of `_UPS[0]` and `_UPS[1]` as files (`_project`), and of the latter
# edited (`_EMAIL_EDITED`): what Java 17's CRC32 and BufferedReader give, run as Flyway's
# ChecksumCalculator runs them.
_FLYWAY_SUMS = {"V1__users.sql": -733506245, "V1_1__email.sql": -596222700}
_EMAIL_EDITED = "ALTER TABLE users ADD COLUMN email text NOT NULL;\n"
_EMAIL_EDITED_SUM = 1434511081


def test_a_flyway_versioned_migration_edited_since_it_ran_is_what_flyway_makes_of_it(
        tmp_path: Path, database_url: str) -> None:
    # Flyway validates before it migrates (validateOnMigrate): an applied versioned
    # migration whose file's checksum is not the recorded one fails it, "Migration checksum
    # mismatch for migration version 1.1" (MigrationInfoImpl.validate), and nothing runs.
    # status said "pending: 1", exit 0; drift reported the edit's NOT NULL as plain drift.
    _project(tmp_path, "flyway")
    email = tmp_path / RUNNERS["flyway"][0][1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", _FLYWAY_SUMS["V1__users.sql"]),
             (2, "1.1", "email", "SQL", "V1_1__email.sql", _FLYWAY_SUMS["V1_1__email.sql"])]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    # The file it ran, with a byte order mark and other line endings: the same checksum.
    email.write_bytes(b"\xef\xbb\xbf" + _UPS[1].encode() + b"\r\n")
    assert commands.status(settings).findings == ()
    assert commands.drift(settings).findings == ()
    email.write_text(_EMAIL_EDITED)
    said = ("flyway refuses to migrate the database: Validate failed: Migration checksum "
            "mismatch for migration version 1.1 -> Applied to database : -596222700 -> "
            f"Resolved locally : {_EMAIL_EDITED_SUM}.")
    report = commands.status(settings)
    assert [(f.code, f.message) for f in report.findings] == [("DBS612", said)]
    assert "flyway refuses to migrate: " + said.partition(": ")[2][:-1] + \
        " (validateOnMigrate)" in report.summary["lines"]
    drift = commands.drift(settings).findings
    assert [(f.code, f.message) for f in drift[:1]] == [("DBS612", said)]
    assert dict(drift[1].context)["Edited since it ran"].startswith(
        f"{RUNNERS['flyway'][0][1]}: the database holds it as it was when applied")
    assert drift[1].help is not None and drift[1].help.endswith(
        "; or undo the edit of the applied migration.")
    # Told not to validate, Flyway's migrate runs V2 and never tells: a warning.
    (tmp_path / "flyway.conf").write_text("flyway.validateOnMigrate=false\n")
    [finding] = commands.status(settings).findings
    assert (finding.code, finding.severity.value, finding.subject) == (
        "DBS605", "warning", RUNNERS["flyway"][0][1])
    assert "`flyway validate` does: \"Migration checksum mismatch for migration version " \
        "1.1\"" in finding.message
    # Versions up to the database's baseline Flyway does not validate.
    (tmp_path / "flyway.conf").unlink()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO flyway_schema_history VALUES (3, '1.1', '<< Flyway Baseline "
                     ">>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', now(), 0, true)")
    assert commands.status(settings).findings == ()


def test_a_flyway_baseline_migration_is_the_database_s_baseline(
        tmp_path: Path, database_url: str) -> None:
    # Flyway ran its baseline migration B1_1 on the empty database (its row's type
    # SQL_BASELINE), then V2: the versions up to 1.1 it takes as there ("Below Baseline",
    # "Baseline Ignored": its appliedBaseline is the latest row whose type isBaseline(),
    # BASELINE or SQL_BASELINE alike), never runs nor validates them. status called V1 never
    # run and Flyway refusing ("Detected resolved migration not applied to database: 1").
    _project(tmp_path, "flyway")
    names = RUNNERS["flyway"][0]
    (tmp_path / names[0]).with_name("B1_1__baseline.sql").write_text(_UPS[0] + _UPS[1] + "\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _UPS[2] + _flyway_history(
            [(1, "1.1", "baseline", "SQL_BASELINE", "B1_1__baseline.sql", None),
             (2, "2", "orders", "SQL", "V2__orders.sql", None)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    # (applied: B1_1, which stands for V1 and V1_1 there, and V2)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, [])
    assert commands.drift(settings).findings == ()


def test_a_flyway_migration_that_failed_half_way_makes_flyway_refuse(
        tmp_path: Path, database_url: str) -> None:
    # On PostgreSQL Flyway rolls back a migration that fails in its transaction and records
    # nothing; one it ran outside a transaction (CONCURRENTLY, executeInTransaction=false)
    # it records failed (`success = false`, DbMigrate.applyMigrations). Its migrate then
    # validates (validateOnMigrate): "Validate failed: ... Detected failed migration to
    # version 2 (orders)" (MigrationInfoImpl.validate), nothing runs. status said nothing
    # (exit 0), V2 merely pending.
    _project(tmp_path, "flyway")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", None),
             (2, "1.1", "email", "SQL", "V1_1__email.sql", None)])
            + "INSERT INTO flyway_schema_history VALUES (3, '2', 'orders', 'SQL', "
              "'V2__orders.sql', NULL, 'app', now(), 5, false)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    said = ("flyway refuses to migrate the database: Validate failed: Detected failed "
            "migration to version 2 (orders).")
    report = commands.status(settings)
    assert [(f.code, f.message, f.subject) for f in report.findings] == [
        ("DBS612", said, RUNNERS["flyway"][0][1])]
    assert report.findings[0].help is not None and "`flyway repair`" in report.findings[0].help
    # Not applied: Flyway runs it again once `flyway repair` removed its row.
    assert (report.summary["applied"], report.summary["pending"]) == (
        2, [{"migration": RUNNERS["flyway"][0][2]}])
    assert [(f.code, f.message) for f in commands.drift(settings).findings] == [
        ("DBS612", said)]
    # Validation off (or passing every state), its migrate refuses all the same.
    for conf in ("flyway.validateOnMigrate=false\n", "flyway.ignoreMigrationPatterns=*:*\n"):
        (tmp_path / "flyway.conf").write_text(conf)
        assert [(f.code, f.message) for f in commands.status(settings).findings] == [(
            "DBS612", 'flyway refuses to migrate the database: Schema "public" contains a '
                      "failed migration to version 2 !")]
    (tmp_path / "flyway.conf").unlink()
    # A failed repeatable migration: its description.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET version = NULL, description = 'views', "
                     "type = 'SQL', script = 'R__views.sql' WHERE installed_rank = 3")
    assert [f.message for f in commands.status(settings).findings] == [
        "flyway refuses to migrate the database: Validate failed: Detected failed repeatable "
        "migration: views."]
    # One failed at a version past every file's (FUTURE_FAILED): Flyway's default
    # `*:future` passes it, migrate only warns and runs V2.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET version = '9', description = 'later', "
                     "script = 'V9__later.sql' WHERE installed_rank = 3")
    report = commands.status(settings)
    assert (report.findings, report.summary["pending"]) == (
        (), [{"migration": RUNNERS["flyway"][0][2]}])
    (tmp_path / "flyway.conf").write_text("flyway.ignoreMigrationPatterns=versioned:pending\n")
    assert [f.message for f in commands.status(settings).findings] == [
        "flyway refuses to migrate the database: Validate failed: Detected failed migration "
        "to version 9 (later)."]


def test_a_failed_flyway_migration_a_delete_row_marks_deleted_is_pending_and_no_refusal(
        tmp_path: Path, database_url: str) -> None:
    # A successful DELETE row (`flyway repair`'s `delete`, JdbcTableSchemaHistory.delete)
    # marks the latest non-synthetic row of its version before it deleted
    # (MigrationInfoServiceImpl.getAppliedVersionedMigrations / markAsDeleted, Flyway 7.0 to
    # 10): its state is DELETED, which validate() passes and DbMigrate's failed() does not
    # count, and neither it nor the DELETE row applies the version
    # (getPendingResolvedVersionedMigrations), so Flyway runs V2 again. status said Flyway
    # refuses (DBS612, the failed row) and V2 applied (the DELETE row's version).
    _project(tmp_path, "flyway")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", None),
             (2, "1.1", "email", "SQL", "V1_1__email.sql", None)])
            + "INSERT INTO flyway_schema_history VALUES (3, '2', 'orders', 'SQL', "
              "'V2__orders.sql', NULL, 'app', now(), 5, false), (4, '2', 'orders', "
              "'DELETE', 'V2__orders.sql', NULL, 'app', now(), 0, true)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, [{"migration": RUNNERS["flyway"][0][2]}])
    assert commands.drift(settings).findings == ()
    # A DELETE row written for a failed row is failed too (`delete` copies its `success`):
    # it marks nothing, the failed row still fails validation.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET success = false WHERE installed_rank = 4")
    assert [f.message for f in commands.status(settings).findings] == [
        "flyway refuses to migrate the database: Validate failed: Detected failed migration "
        "to version 2 (orders)."]
    # The same for a failed repeatable migration, marked by its description.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET version = NULL, description = 'views', "
                     "script = 'R__views.sql', success = (installed_rank = 4) "
                     "WHERE installed_rank IN (3, 4)")
    (tmp_path / "db/migrations/R__views.sql").write_text(
        "CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\n")
    report = commands.status(settings)
    assert (report.findings, report.summary["pending"]) == ((), [
        {"migration": RUNNERS["flyway"][0][2]}, {"migration": "db/migrations/R__views.sql"}])
    # A successful row of the version after the failed one and before the DELETE row is the
    # one it marks: the failed one stays failed.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET installed_rank = installed_rank + 1 "
                     "WHERE installed_rank = 4; INSERT INTO flyway_schema_history VALUES (4, "
                     "NULL, 'views', 'SQL', 'R__views.sql', NULL, 'app', now(), 1, true)")
    assert [f.message for f in commands.status(settings).findings] == [
        "flyway refuses to migrate the database: Validate failed: Detected failed repeatable "
        "migration: views."]



def test_a_flyway_migration_repair_marked_deleted_is_not_applied_by_its_delete_row(
        tmp_path: Path, database_url: str) -> None:
    # V2 ran, then its file was removed and `flyway repair` marked it deleted (a DELETE row
    # of version 2: DbRepair.deleteMissingMigrations). Flyway validates and migrates on,
    # and says "Please ensure the previous contents of the deleted migrations are removed
    # from the database, or moved into an existing migration". status and drift were exit 2
    # ("holds version(s) 2 that db/migrations has no file for", read from the DELETE row).
    _project(tmp_path, "flyway")
    (tmp_path / RUNNERS["flyway"][0][2]).unlink()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + _UPS[2] + _flyway_history(
            [(1, "1", "users", "SQL", "V1__users.sql", None),
             (2, "1.1", "email", "SQL", "V1_1__email.sql", None),
             (3, "2", "orders", "SQL", "V2__orders.sql", None),
             (4, "2", "orders", "DELETE", "V2__orders.sql", None)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, [])
    # What the deleted migration made is still there, and no file makes it.
    assert [(f.code, f.subject) for f in commands.drift(settings).findings] == [
        ("DBS402", "public.orders")]


# sqlx's checksums of `_SQLX[0]` and `_SQLX[1]` as files: `sha384sum`'s.
_SQLX = {"1_users.sql": (_UPS[0] + "\n", "6e87eacc60a108113ae87c597a513a72c2af6c4dbd126ba4"
                                         "dafe01a0294b4d9260da5858c7553c7b243ce4846efc0783"),
         "2_email.sql": (_UPS[1] + "\n", "38ea8677c01d4accc49fc031cbdfde02d2797cd3e27a89fb"
                                         "e8e3637c563b4a985cc7e91a863f7a2793e9762ba3628ec5"),
         "3_orders.sql": (_UPS[2] + "\n", "")}


def _sqlx_crate(tmp_path: Path, database_url: str, ran: dict[int, bool]) -> Path:
    """A crate depending on sqlx with `_SQLX`'s files in its `migrations` folder (returned),
    and a database where the first two ran and `_sqlx_migrations` has a row for each
    version of `ran` (its `success`), with the file's checksum."""
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\n\n[dependencies]\nsqlx = { version = "0.8", features = '
        '["postgres"] }\n')
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, (sql, _) in _SQLX.items():
        (folder / name).write_text(sql)
    names = {int(name.split("_")[0]): name for name in _SQLX}
    with psycopg.connect(database_url, autocommit=True) as conn:
        # as sqlx-postgres' ensure_migrations_table makes it
        conn.execute(_UPS[0] + _UPS[1] + "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY "
                     "KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT "
                     "now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time "
                     "BIGINT NOT NULL)")
        for version, success in ran.items():
            conn.execute("INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                         "execution_time) VALUES (%s, %s, %s, decode(%s, 'hex'), 1)",
                         (version, names[version][2:-4], success, _SQLX[names[version]][1]))
    return folder


def test_a_sqlx_migration_edited_since_it_ran_makes_sqlx_refuse(
        tmp_path: Path, database_url: str) -> None:
    # sqlx's migrate (its CLI's `migrate run` and `migrate!()` alike) compares each applied
    # migration's checksum, the SHA-384 of its file, with the one it recorded, and stops at
    # the first that differs: "migration 2 was previously applied but has been modified"
    # (MigrateError::VersionMismatch). status said "pending: 1", exit 0.
    folder = _sqlx_crate(tmp_path, database_url, {1: True, 2: True})
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert (report.findings, report.summary["pending"]) == ((), [{"migration":
                                                                  "migrations/3_orders.sql"}])
    said = ("sqlx refuses to migrate the database: migration 2 was previously applied but has "
            "been modified.")
    # sqlx checksums the file as it is: CRLF line endings are an edit to it ...
    (folder / "2_email.sql").write_bytes(_UPS[1].encode() + b"\r\n")
    assert [(f.code, f.message) for f in commands.status(settings).findings] == [
        ("DBS612", said)]
    # ... unless its sqlx.toml leaves the carriage return out of its checksums.
    (tmp_path / "sqlx.toml").write_text('[migrate]\nignored-chars = ["\\r"]\n')
    assert commands.status(settings).findings == ()
    (folder / "2_email.sql").write_text(_EMAIL_EDITED)
    assert [(f.code, f.message) for f in commands.status(settings).findings] == [
        ("DBS612", said)]
    assert [(f.code, f.message) for f in commands.drift(settings).findings[:1]] == [
        ("DBS612", said)]


def test_a_sqlx_migration_that_failed_half_way_makes_sqlx_refuse(
        tmp_path: Path, database_url: str) -> None:
    # sqlx's migrate reads its table's first `success = false` row before anything else
    # (sqlx-postgres' dirty_version) and stops: "migration 3 is partially applied; fix and
    # remove row from `_sqlx_migrations` table" (MigrateError::Dirty). status said nothing
    # (exit 0), the version merely pending.
    folder = _sqlx_crate(tmp_path, database_url, {1: True, 2: True, 3: False})
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    said = ("sqlx refuses to migrate the database: migration 3 is partially applied; fix and "
            "remove row from `_sqlx_migrations` table.")
    report = commands.status(settings)
    assert [(f.code, f.message, f.subject) for f in report.findings] == [
        ("DBS612", said, "migrations/2_email.sql")]
    # The failed one is not applied: sqlx runs it again once its row is removed.
    assert (report.summary["applied"], report.summary["pending"]) == (
        2, [{"migration": "migrations/3_orders.sql"}])
    # It stops there before it compares checksums: an applied file edited since is no
    # VersionMismatch of its own (nor a warning in Flyway's words).
    (folder / "2_email.sql").write_text(_EMAIL_EDITED)
    assert [(f.code, f.message) for f in commands.status(settings).findings] == [
        ("DBS612", said)]
    (folder / "2_email.sql").write_text(_SQLX["2_email.sql"][0])
    drift = commands.drift(settings).findings
    assert [(f.code, f.message) for f in drift[:1]] == [("DBS612", said)]


# What prisma 6.19.3's `migrate deploy` recorded for these files (run on PostgreSQL 15).
_PRISMA = {"20240101000000_init": ("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);\n",
                                   "a67484aafc88045af07586fa799b482b1477da918eb666b65a9df9ac94b3c504"),
           "20240102000000_email": ("ALTER TABLE users ADD COLUMN email text;\n",
                                    "315473a27c3413dbff149b4a3c0b90484b02dceb4ce8ba601f55ebeb0a39f6c4")}


# refinery's checksums of `_REFINERY`'s files (`Migration::unapplied`: SipHasher13 of the
# name, the version as an i32 and the SQL), as Rust's `DefaultHasher` computed them.
_REFINERY = {"V1__users.sql": (_UPS[0] + "\n", "6100742093170498746"),
             "V2__email.sql": (_UPS[1] + "\n", "6509086173100154595"),
             "V3__orders.sql": (_UPS[2] + "\n", "4013200327469723978")}


def _refinery_crate(tmp_path: Path, database_url: str, ran: tuple[int, ...],
                    runner: str = "") -> Path:
    """A crate embedding `_REFINERY`'s files with refinery (its `migrations` folder,
    returned), its code running them with `runner` (builder calls) when given, and a
    database where the versions `ran` ran, each with its row in `refinery_schema_history`
    as refinery writes it."""
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "app"\n\n[dependencies]\n'
                                         'refinery = { version = "0.9", features = '
                                         '["tokio-postgres"] }\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(
        'mod embedded {\n    use refinery::embed_migrations;\n    '
        'embed_migrations!("migrations");\n}\n'
        + (f"\nasync fn migrate(client: &mut Client) {{\n    embedded::migrations::runner()"
           f"{runner}\n        .run_async(client).await.unwrap();\n}}\n" if runner else ""))
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, (sql, _) in _REFINERY.items():
        (folder / name).write_text(sql)
    names = list(_REFINERY)
    with psycopg.connect(database_url, autocommit=True) as conn:
        # as refinery_core's ASSERT_MIGRATIONS_TABLE_QUERY makes it, and
        # insert_migration_query fills it (applied_on in RFC 3339)
        conn.execute("".join(_UPS[v - 1] for v in ran) + "CREATE TABLE IF NOT EXISTS "
                     "refinery_schema_history(version int4 PRIMARY KEY, name VARCHAR(255), "
                     "applied_on VARCHAR(255), checksum VARCHAR(255));")
        for v in ran:
            conn.execute("INSERT INTO refinery_schema_history (version, name, applied_on, "
                         "checksum) VALUES (%s, %s, '2026-01-02T03:04:05.123456789Z', %s)",
                         (v, names[v - 1][4:-4], _REFINERY[names[v - 1]][1]))
    return folder


def test_refinery_s_history_says_which_files_ran_and_an_edited_one_makes_it_refuse(
        tmp_path: Path, database_url: str) -> None:
    # refinery's `refinery_schema_history` was not read: status, drift and lint with a
    # database stopped at "the database is not empty" as if no runner had migrated it.
    folder = _refinery_crate(tmp_path, database_url, (1, 2))
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations": "migrations"}, environ={})
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, [{"migration": "migrations/V3__orders.sql"}])
    assert commands.drift(settings).findings == ()
    linted = commands.lint(settings, [folder])
    assert (linted.findings, linted.summary["migrations"]) == ((), 1)
    # refinery (`abort_divergent`, true unless the code says otherwise) compares each
    # applied row's name and checksum with its file's before it runs anything, and stops:
    # DivergentVersion, in its words.
    (folder / "V2__email.sql").write_text(_EMAIL_EDITED)
    said = ("refinery refuses to migrate the database: applied migration V2__email is "
            "different than filesystem one V2__email.")
    assert [(f.code, f.message, f.subject) for f in commands.status(settings).findings] == [
        ("DBS612", said, "migrations/V2__email.sql")]
    assert [(f.code, f.message) for f in commands.drift(settings).findings[:1]] == [
        ("DBS612", said)]
    assert [(f.code, f.message) for f in commands.lint(settings, [folder]).findings] == [
        ("DBS612", said)]
    # The name is in its checksum: the file renamed, its SQL as it ran, is divergent too.
    (folder / "V2__email.sql").unlink()
    (folder / "V2__add_email.sql").write_text(_REFINERY["V2__email.sql"][0])
    assert [f.message for f in commands.status(settings).findings] == [said.replace(
        "filesystem one V2__email", "filesystem one V2__add_email")]


def test_refinery_refuses_a_versioned_file_below_the_last_applied_one(
        tmp_path: Path, database_url: str) -> None:
    # V3 ran, V2 never did: refinery (`abort_missing`, true by default) refuses before it
    # runs anything, in its words "missing from the filesystem" (MissingVersion). An
    # unversioned file (`U2__`) it runs out of order instead.
    folder = _refinery_crate(tmp_path, database_url, (1, 3))
    settings = load_settings(tmp_path, {"database-url": database_url,
                                        "sql-migrations": "migrations"}, environ={})
    report = commands.status(settings)
    assert [(f.code, f.message) for f in report.findings] == [
        ("DBS612", "refinery refuses to migrate the database: migration V2__email is missing "
                   "from the filesystem.")]
    assert [f for f in commands.lint(settings, [folder]).findings
            if f.code == "DBS612"] == list(report.findings)
    (folder / "V2__email.sql").rename(folder / "U2__email.sql")
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, [{"migration": "migrations/U2__email.sql"}])


def test_refinery_told_not_to_abort_warns_of_an_edited_file_and_never_runs_a_missing_one(
        tmp_path: Path, database_url: str) -> None:
    # refinery's runner with `set_abort_divergent(false)` only logs an applied file edited
    # since (and does not run it again), with `set_abort_missing(false)` only logs a
    # versioned file below the last version applied and skips it for good (refinery_core's
    # `verify_migrations`). status and lint said refinery refused to migrate (DBS612).
    folder = _refinery_crate(tmp_path, database_url, (1, 3),
                             "\n        .set_abort_divergent(false)\n"
                             "        .set_abort_missing(false)")
    (folder / "V1__users.sql").write_text(_REFINERY["V1__users.sql"][0] + "-- edited\n")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert [(f.code, f.severity.value, f.subject) for f in report.findings] == [
        ("DBS613", "error", "migrations/V2__email.sql"),
        ("DBS605", "warning", "migrations/V1__users.sql")]
    assert "skip such a file (`set_abort_missing(false)`" in report.findings[0].message
    assert "refinery, told not to abort for it (`set_abort_divergent(false)`)" in \
        report.findings[1].message
    assert report.summary["pending"] == []
    linted = commands.lint(settings, [folder])
    assert [(f.code, f.subject) for f in linted.findings] == [
        ("DBS613", "migrations/V2__email.sql"), ("DBS605", "migrations/V1__users.sql")]
    assert [(f.code, f.subject) for f in commands.drift(settings).findings
            if f.code.startswith("DBS6")] == [("DBS613", "migrations/V2__email.sql"),
                                              ("DBS605", "migrations/V1__users.sql")]


@pytest.mark.parametrize("runner", ["\n        .set_abort_missing(abort_missing)",
                                    "\n        .set_abort_missing(true)"])
def test_refinery_told_to_abort_or_by_a_variable_still_refuses_a_missing_version(
        tmp_path: Path, database_url: str, runner: str) -> None:
    # A setting dbsafe cannot read (a variable) keeps refinery's default: it refuses.
    _refinery_crate(tmp_path, database_url, (1, 3), runner)
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert [f.code for f in commands.status(settings).findings] == ["DBS612"]


def test_a_prisma_migration_edited_since_it_ran_is_a_warning(
        tmp_path: Path, database_url: str) -> None:
    # prisma 6.19.3's `migrate deploy` runs what is pending and says nothing of an applied
    # migration edited since (nor does `migrate status`: "Database schema is up to date!");
    # only `migrate dev` compares them. status said nothing either.
    folder = tmp_path / "prisma" / "migrations"
    for name, (sql, _) in _PRISMA.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "migration.sql").write_text(sql)
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_PRISMA["20240101000000_init"][0] + _PRISMA["20240102000000_email"][0] +
                     'CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, '
                     '"checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, '
                     '"migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" '
                     'TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), '
                     '"applied_steps_count" INTEGER NOT NULL DEFAULT 0)')
        for i, (name, (_, checksum)) in enumerate(_PRISMA.items()):
            conn.execute("INSERT INTO _prisma_migrations (id, checksum, finished_at, "
                         "migration_name, applied_steps_count) VALUES (%s, %s, now(), %s, 1)",
                         (str(i), checksum, name))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    email = folder / "20240102000000_email" / "migration.sql"
    # The file it ran with CRLF line endings: prisma takes it for the same.
    email.write_bytes(_PRISMA["20240102000000_email"][0].replace("\n", "\r\n").encode())
    assert commands.status(settings).findings == ()
    email.write_text("ALTER TABLE users ADD COLUMN email text NOT NULL;\n")
    report = commands.status(settings)
    [finding] = report.findings
    assert (finding.code, finding.severity.value, finding.subject) == (
        "DBS605", "warning", "prisma/migrations/20240102000000_email/migration.sql")
    assert finding.message.startswith(
        "`prisma/migrations/20240102000000_email/migration.sql` was edited after prisma applied "
        "it (checksum 315473a27c3413db then, ")
    assert "edited since it ran: 1 (prisma does not run them again)" in report.summary["lines"]
    drift = commands.drift(settings).findings
    assert [f.code for f in drift] == ["DBS605", "DBS403"]  # (email NOT NULL: the edit)


def test_a_drizzle_migration_edited_since_it_ran_is_a_warning(
        tmp_path: Path, database_url: str) -> None:
    # drizzle-orm's migrate() records the sha256 of each file it runs (`hash`) and never
    # compares it: an applied file edited since runs neither again nor says so. status
    # said nothing; drift said only what the edit changed (DBS403).
    import hashlib

    folder = tmp_path / "drizzle"
    (folder / "meta").mkdir(parents=True)
    whens = {"0000_users": 1796475137544, "0001_email": 1796475137545}
    for tag, sql in zip(whens, _UPS, strict=False):
        (folder / f"{tag}.sql").write_bytes(f"{sql}\r\n".encode())  # (written on Windows)
    (folder / "meta" / "_journal.json").write_text(json.dumps({
        "version": "7", "dialect": "postgresql", "entries": [
            {"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True}
            for i, (tag, when) in enumerate(whens.items())]}))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[1] + "CREATE SCHEMA drizzle; CREATE TABLE "
                     "drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, "
                     "created_at bigint)")
        # 0.x before its line ends were turned hashed the file as it is; later ones, LF
        for (tag, when), ends in zip(whens.items(), ("\r\n", "\n"), strict=True):
            text = (folder / f"{tag}.sql").read_bytes().replace(b"\r\n", ends.encode())
            conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) "
                         "VALUES (%s, %s)", (hashlib.sha256(text).hexdigest(), when))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.status(settings).findings == ()
    assert commands.drift(settings).findings == ()
    (folder / "0001_email.sql").write_text("ALTER TABLE users ADD COLUMN email text NOT NULL;\n")
    report = commands.status(settings)
    [finding] = report.findings
    assert (finding.code, finding.severity.value, finding.subject) == (
        "DBS605", "warning", "drizzle/0001_email.sql")
    assert "drizzle-orm's `migrate()` neither runs it again nor says so" in finding.message
    assert "edited since it ran: 1 (drizzle does not run them again)" in report.summary["lines"]
    drift = commands.drift(settings).findings
    assert [f.code for f in drift] == ["DBS605", "DBS403"]  # (email NOT NULL: the edit)
    # A row inserted by hand (no sha256): nothing known of the file it stands for.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE drizzle.__drizzle_migrations SET hash = 'adopted' "
                     "WHERE created_at = 1796475137545")
    assert commands.status(settings).findings == ()


def test_a_drizzle_kit_1_migration_edited_since_it_ran_is_a_warning(
        tmp_path: Path, database_url: str) -> None:
    # drizzle-orm 1.0's rows name their migration folder; the hash is its migration.sql's.
    import hashlib

    (tmp_path / "drizzle.config.ts").write_text(
        'export default { dialect: "postgresql", out: "./drizzle" }\n')
    names = {"20260101000000_users": _UPS[0], "20260101000000_orders": _UPS[2]}
    for name, sql in names.items():
        (tmp_path / "drizzle" / name).mkdir(parents=True)
        (tmp_path / "drizzle" / name / "migration.sql").write_text(sql + "\n")
        (tmp_path / "drizzle" / name / "snapshot.json").write_text(
            json.dumps({"version": "8", "dialect": "postgres"}))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_UPS[0] + _UPS[2] + "CREATE SCHEMA drizzle; CREATE TABLE "
                     "drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, "
                     "created_at bigint, name text, applied_at timestamptz DEFAULT now())")
        for name, sql in names.items():
            conn.execute("INSERT INTO drizzle.__drizzle_migrations (hash, created_at, name) "
                         "VALUES (%s, 1767225600000, %s)",
                         (hashlib.sha256(f"{sql}\n".encode()).hexdigest(), name))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    assert commands.status(settings).findings == ()
    orders = tmp_path / "drizzle" / "20260101000000_orders" / "migration.sql"
    orders.write_text("CREATE TABLE orders (id int, total numeric);\n")
    assert [(f.code, f.subject) for f in commands.status(settings).findings] == [
        ("DBS605", "drizzle/20260101000000_orders/migration.sql")]
    assert [f.code for f in commands.drift(settings).findings] == ["DBS605", "DBS401"]


def test_flyway_s_newest_baseline_migration_is_pending_on_an_empty_history_alone(
        tmp_path: Path, database_url: str) -> None:
    # On an empty history Flyway's migrate runs B2 (the newest baseline migration), V3 and
    # the repeatable file; V1, V2 ("Below Baseline", "Baseline Ignored") and B1 never run.
    # status listed V1, V2 and V3 pending. Once a versioned migration is applied, every
    # baseline file is IGNORED: V3 alone is pending, and drift builds from V1 and V2.
    from tests.helpers import flyway_baseline_folder

    flyway_baseline_folder(tmp_path / "db" / "migrations")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    new = [{"migration": f"db/migrations/{name}"}
           for name in ("B2__baseline.sql", "V3__orders.sql", "R__user_emails.sql")]
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 0, new)
    with psycopg.connect(database_url, autocommit=True) as conn:  # Flyway's table, made
        conn.execute(_flyway_history([(0, None, "<< Flyway Schema Creation >>", "SCHEMA",
                                       '"public"', None)]))
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 0, new)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text);"
                     "ALTER TABLE users ADD COLUMN email text;"
                     "INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', NULL, 'app', now(), 1, true), "
                     "(2, '2', 'email', 'SQL', 'V2__email.sql', NULL, 'app', now(), 1, true)")
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, new[1:])
    assert commands.drift(settings).findings == ()


def test_the_flyway_baseline_migration_a_history_says_ran_is_what_the_database_holds(
        tmp_path: Path, database_url: str) -> None:
    # Flyway ran B2 on the empty database (its row's type SQL_BASELINE, its script the
    # file), then V3 and the repeatable file. The reference drift built was V1, V2 (up to
    # the baseline) and V3: users.id an integer where B2 made the database's a bigint, a
    # false drift.
    from tests.helpers import FLYWAY_BASELINE_FOLDER, flyway_baseline_folder

    flyway_baseline_folder(tmp_path / "db" / "migrations")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("".join(FLYWAY_BASELINE_FOLDER[name] for name in (
            "B2__baseline.sql", "V3__orders.sql", "R__user_emails.sql")) + _flyway_history(
            [(1, "2", "baseline", "SQL_BASELINE", "B2__baseline.sql", None),
             (2, "3", "orders", "SQL", "V3__orders.sql", None),
             (3, None, "user emails", "SQL", "R__user_emails.sql", None)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 3, [])
    assert commands.drift(settings).findings == ()
    # `flyway baseline` at 2 (a BASELINE row, no script) on a database V1 and V2 made:
    # B2 never ran there, V1 and V2 stand for what was there.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP VIEW user_emails; DROP TABLE orders, users;"
                     "CREATE TABLE users (id int PRIMARY KEY, name text, email text);"
                     "UPDATE flyway_schema_history SET type = 'BASELINE', "
                     "script = '<< Flyway Baseline >>' WHERE installed_rank = 1;"
                     "DELETE FROM flyway_schema_history WHERE installed_rank > 1")
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 2, [{"migration": "db/migrations/V3__orders.sql"},
                {"migration": "db/migrations/R__user_emails.sql"}])
    assert commands.drift(settings).findings == ()


def test_the_flyway_baseline_migration_a_history_says_ran_is_the_file_of_its_version(
        tmp_path: Path, database_url: str) -> None:
    # Flyway pairs a file with its history row by version and type
    # (MigrationInfoServiceImpl.refresh, 9.22.3: `resolvedVersioned.get(Pair.of(version,
    # type))`, versions compared as numbers), never by name, and validates no checksum nor
    # description of the baseline's own row (`compareTo(context.appliedBaseline) > 0`): B2
    # renamed since it ran as B2__initial_schema.sql (its row's version 2.0) is the
    # database's baseline still. dbsafe matched the row's script to the file's name: B2
    # left out, the reference built from V1, V2 and V3 (users.id an integer where B2 made a
    # bigint), a false drift.
    from tests.helpers import FLYWAY_BASELINE_FOLDER, flyway_baseline_folder

    flyway_baseline_folder(tmp_path / "db" / "migrations")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("".join(FLYWAY_BASELINE_FOLDER[name] for name in (
            "B2__baseline.sql", "V3__orders.sql", "R__user_emails.sql")) + _flyway_history(
            [(1, "2.0", "initial schema", "SQL_BASELINE", "B2__initial_schema.sql", 12345),
             (2, "3", "orders", "SQL", "V3__orders.sql", None),
             (3, None, "user emails", "SQL", "R__user_emails.sql", None)]))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    report = commands.status(settings)
    assert (report.findings, report.summary["applied"], report.summary["pending"]) == (
        (), 3, [])
    assert commands.drift(settings).findings == ()


# postgres-migrations 5.3.0's table and rows after `migrate()` ran the two files below, as it
# wrote them (its hash: the sha1 of the file's name and text; id 0 its own first migration).
_PG_MIGRATIONS_FILES = {
    "1_create-users.sql": "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);\n",
    "2_users-email.sql": "-- postgres-migrations disable-transaction\n"
                         "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
}
_PG_MIGRATIONS_RAN = (
    "CREATE TABLE migrations (id integer PRIMARY KEY, name varchar(100) UNIQUE NOT NULL, "
    "hash varchar(40) NOT NULL, executed_at timestamp DEFAULT current_timestamp);"
    "INSERT INTO migrations (id, name, hash) VALUES "
    "(0, 'create-migrations-table', 'e18db593bcde2aca2a408c4d1100f6abba2195df'), "
    "(1, 'create-users', 'b08dcd16c050baa397a553edd903e4602f3560ee'), "
    "(2, 'users-email', '71f760fba90e2c8e100b897a49e65dd7ce7ed105');"
    "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
    "CREATE INDEX users_email ON users (email);")


def _postgres_migrations_project(tmp_path: Path, database_url: str) -> Settings:
    (tmp_path / "package.json").write_text('{"dependencies": {"postgres-migrations": "^5.3.0"}}')
    (tmp_path / "migrations").mkdir()
    for name, text in _PG_MIGRATIONS_FILES.items():
        (tmp_path / "migrations" / name).write_text(text)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_PG_MIGRATIONS_RAN)
    # (its folder found with no `sql-migrations`: `migrations` beside the package.json)
    return load_settings(tmp_path, {"database-url": database_url}, environ={})


def test_postgres_migrations_history_says_current_pending_and_drift(
        tmp_path: Path, database_url: str) -> None:
    # postgres-migrations 5.3.0 ran both files: status and drift were exit 2 ("no migration
    # history table dbsafe reads"). Its `migrations` table, which no file makes, is no drift.
    settings = _postgres_migrations_project(tmp_path, database_url)
    (tmp_path / "migrations" / "3_users-name.sql").write_text(
        "ALTER TABLE users ADD COLUMN name text;\n")
    report = commands.status(settings)
    assert report.summary["current"] == ["migrations/2_users-email.sql"]
    assert report.summary["lines"][0].endswith("by postgres-migrations's public.migrations)")
    assert report.summary["pending"] == [{"migration": "migrations/3_users-name.sql"}]
    assert report.findings == ()
    assert commands.drift(settings).findings == ()
    lint = commands.lint(settings, [tmp_path / "migrations"])
    assert "says 2 of these files ran there" in " ".join(lint.summary["lines"])

    _index_by_hand_is_drift(settings, database_url, "users_id_email", "id, email")


def test_postgres_migrations_refusing_an_edited_applied_file_is_a_finding(
        tmp_path: Path, database_url: str) -> None:
    # A comment added to 1_create-users.sql after it ran: postgres-migrations 5.3.0's
    # `migrate()` failed before running anything, "Hashes don't match for migrations
    # '1_create-users.sql'. This means that the scripts have changed since it was applied."
    settings = _postgres_migrations_project(tmp_path, database_url)
    users = tmp_path / "migrations" / "1_create-users.sql"
    users.write_text(users.read_text() + "-- who signs in\n")
    said = ("postgres-migrations refuses to migrate the database: Hashes don't match for "
            "migrations '1_create-users.sql'. This means that the scripts have changed since it "
            "was applied.")
    for report in (commands.status(settings), commands.drift(settings),
                   commands.lint(settings, [tmp_path / "migrations"])):
        assert [(f.code, f.message) for f in report.findings] == [("DBS612", said)]
    users.write_text(_PG_MIGRATIONS_FILES["1_create-users.sql"])
    assert commands.status(settings).findings == ()


def test_a_migrations_table_without_postgres_migrations_hash_is_no_history(
        tmp_path: Path, database_url: str) -> None:
    # TypeORM's `migrations` (id, timestamp, name) is no postgres-migrations history: read as
    # one, its rows would name versions of files it never ran.
    settings = _postgres_migrations_project(tmp_path, database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE migrations; CREATE TABLE migrations (id serial PRIMARY KEY, "
                     "timestamp bigint NOT NULL, name varchar NOT NULL);"
                     "INSERT INTO migrations (timestamp, name) VALUES (1, 'Init1')")
    with pytest.raises(DbsafeError, match="no migration history table dbsafe reads"):
        commands.drift(settings)


def test_status_reads_the_folder_named_on_its_command_line(
        tmp_path: Path, database_url: str) -> None:
    # Its "no migrations found" error told users to give `--sql-migrations DIR`, which
    # `status` did not take (drift and verify-reversible do).
    _project(tmp_path / "proj", "dbmate")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "dbsafe", "status", "--database-url", database_url,
         "--sql-migrations", str(tmp_path / "proj" / "db" / "migrations"), "--format", "json"],
        cwd=elsewhere, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    pending = [p["migration"] for p in json.loads(result.stdout)["summary"]["pending"]]
    assert [Path(p).name for p in pending] == [Path(n).name for n in RUNNERS["dbmate"][0]]

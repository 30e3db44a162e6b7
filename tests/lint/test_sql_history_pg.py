"""`dbsafe lint FOLDER --database-url`: the files the database's runner history says ran
are not linted, as the alembic revisions up to its version are not.

cal.com's 417 prisma folders linted against a database at its 350th: the 24 errors were all
but one on files that ran there long ago (DBS202 for `EventTypeCustomInput.type_old`, which
the database no longer has), each read as if about to run on today's schema. Real PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# As prisma migrate creates it (its schema-engine's postgres connector).
PRISMA_HISTORY = """
CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)
"""

FILES = {
    "20240101000000_init": 'CREATE TABLE "Account" (id int PRIMARY KEY, legacy text, plan text);\n'
                           'CREATE INDEX "Account_legacy_idx" ON "Account" (legacy);\n',
    "20240201000000_drop_legacy": 'ALTER TABLE "Account" DROP COLUMN legacy;\n',
    "20240301000000_plan_index": 'CREATE INDEX "Account_plan_idx" ON "Account" (plan);\n',
}


def _record(conn: psycopg.Connection, name: str, *, finished: bool = True) -> None:
    """A row as prisma writes it: finished, or failed (no finished_at, the error logged)."""
    conn.execute(
        'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, '
        "applied_steps_count) VALUES (%s, %s, CASE WHEN %s THEN now() END, %s, %s, %s)",
        (str(uuid.uuid4()), hashlib.sha256(FILES[name].encode()).hexdigest(), finished, name,
         None if finished else "error", 1 if finished else 0))


def _prisma_folder(tmp_path: Path, *, lock_file: bool = True) -> Path:
    """prisma/migrations holding FILES, each in its folder, and its migration_lock.toml."""
    folder = tmp_path / "prisma" / "migrations"
    for name, sql in FILES.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "migration.sql").write_text(sql)
    if lock_file:
        (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return folder


def test_only_the_files_the_prisma_history_has_not_applied_are_linted(
        tmp_path: Path, database_url: str) -> None:
    folder = _prisma_folder(tmp_path)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(PRISMA_HISTORY)
        for name in ("20240101000000_init", "20240201000000_drop_legacy"):
            conn.execute(FILES[name])
            _record(conn, name)
        # Failed, then `prisma migrate resolve --rolled-back`: not applied.
        _record(conn, "20240301000000_plan_index", finished=False)
        conn.execute('UPDATE "_prisma_migrations" SET rolled_back_at = now() '
                     "WHERE finished_at IS NULL")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        ignore=("DBS115",))
    report = commands.lint(settings, [folder])
    assert [(f.code, f.location.path if f.location else None, f.severity.value, f.subject)
            for f in report.findings] == [
        # On the database's table, not a new one: weighed as it (large_table=0: an error).
        ("DBS101", "prisma/migrations/20240301000000_plan_index/migration.sql", "error",
         "Account"),
    ]
    assert report.summary["migrations"] == 1
    assert "says 2 of these files ran there" in " ".join(report.summary["lines"])


def test_a_prisma_migration_neither_finished_nor_rolled_back_stops_status_drift_and_lint(
        tmp_path: Path, database_url: str) -> None:
    # `prisma migrate deploy` refuses to go on (P3009) until it is resolved; what the failed
    # migration did before failing may be there. Rolled back (`prisma migrate resolve
    # --rolled-back`), it is pending again.
    from dbsafe.config import load_settings
    from dbsafe.core import DbsafeError

    folder = _prisma_folder(tmp_path, lock_file=False)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(PRISMA_HISTORY)
        conn.execute(FILES["20240101000000_init"])
        _record(conn, "20240101000000_init")
        _record(conn, "20240201000000_drop_legacy", finished=False)
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    for command in (commands.status, commands.drift,
                    lambda s: commands.lint(s, [folder])):
        with pytest.raises(DbsafeError, match="20240201000000_drop_legacy failed half-way"):
            command(settings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('UPDATE "_prisma_migrations" SET rolled_back_at = now() '
                     "WHERE finished_at IS NULL")
    assert commands.status(settings).summary["pending"] == [
        {"migration": f"prisma/migrations/{name}/migration.sql"}
        for name in ("20240201000000_drop_legacy", "20240301000000_plan_index")]


def test_the_prisma_history_in_the_schema_of_its_url_is_read_by_status_drift_and_lint(
        tmp_path: Path, database_url: str) -> None:
    # prisma migrate with `DATABASE_URL=...?schema=app` makes `app`, keeps
    # `_prisma_migrations` there and runs each migration.sql with search_path `app`; dbsafe,
    # handed that URL, connects as prisma does. The history was looked for in `public` only:
    # status, drift and lint FOLDER were exit 2 ("app._prisma_migrations ... is a history
    # table in another schema").
    from dbsafe.config import load_settings
    from dbsafe.core import DbsafeError

    folder = _prisma_folder(tmp_path)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("SET search_path = app")
        conn.execute(PRISMA_HISTORY)
        for name in ("20240101000000_init", "20240201000000_drop_legacy"):
            conn.execute(FILES[name])
            _record(conn, name)
    without = load_settings(tmp_path, {"database-url": database_url}, environ={})
    with pytest.raises(DbsafeError, match=r"prisma's DATABASE_URL as it is \(`\?schema=app`\)"):
        commands.status(without)
    settings = load_settings(tmp_path, {"database-url": f"{database_url}&schema=app"},
                             environ={})
    assert commands.status(settings).summary["pending"] == [
        {"migration": "prisma/migrations/20240301000000_plan_index/migration.sql"}]
    # The files built as prisma ran them, in `app`: the same tables, nothing drifted ...
    assert commands.drift(settings).findings == ()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE INDEX "by_hand" ON app."Account" (plan)')
    # ... until an index is made by hand there.
    assert [f.subject for f in commands.drift(settings).findings] == ["app.Account.by_hand"]
    report = commands.lint(dataclasses.replace(settings, large_table=0, ignore=("DBS115",)),
                           [folder])
    assert [(f.code, f.subject) for f in report.findings] == [("DBS101", "Account")]
    assert "app._prisma_migrations" in " ".join(report.summary["lines"])


def test_a_flyway_repeatable_migration_edited_since_it_ran_is_linted_it_runs_again(
        tmp_path: Path, database_url: str) -> None:
    # Flyway runs R__indexes.sql again at its next migrate: its checksum (-733506245 for
    # V1's text, as Java 17's CRC32 over its lines gives it) is not the one recorded. Left
    # out as run, its new non-concurrent index went unlinted.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    users = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
    (folder / "V1__users.sql").write_text(users)
    (folder / "R__indexes.sql").write_text("CREATE INDEX users_name ON users (name);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(users + "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY "
                     "KEY, version varchar(50), description varchar(200) NOT NULL, type "
                     "varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, "
                     "success boolean NOT NULL); INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', -733506245, true), "
                     "(2, NULL, 'indexes', 'SQL', 'R__indexes.sql', 12345, true)")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        ignore=("DBS115",))
    report = commands.lint(settings, [folder])
    assert [(f.code, f.location.path if f.location else None) for f in report.findings] == [
        ("DBS101", "db/migrations/R__indexes.sql")]
    assert "says 1 of these files ran there" in " ".join(report.summary["lines"])


def test_lint_reads_a_flyway_folder_as_flyway_runs_its_baseline_migrations(
        tmp_path: Path, database_url: str) -> None:
    # A new database gets B2 (the newest baseline migration), V3 and the repeatable file;
    # V1 and V2, which it stands for, ran on every database older than it. Linted without
    # a database: B2 and what follows, V3 in B2's schema. dbsafe knew V, R and U alone: it
    # linted V1 and V2 (V1's integer key a DBS209) and left B2 out. With a history that
    # holds V1 and V2, Flyway ignores every baseline file: V3 and R__ are linted.
    from tests.helpers import flyway_baseline_folder

    folder = flyway_baseline_folder(tmp_path / "db" / "migrations")
    settings = Settings(project_root=tmp_path, ignore=("DBS115",))
    report = commands.lint(settings, [folder])
    assert [(f.code, f.location.path if f.location else None) for f in report.findings] == [
        ("DBS117", "db/migrations/V3__orders.sql")]
    assert report.summary["migrations"] == 3
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text, email text);"
                     "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, "
                     "version varchar(50), description varchar(200) NOT NULL, type "
                     "varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, "
                     "success boolean NOT NULL); INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', NULL, true), "
                     "(2, '2', 'email', 'SQL', 'V2__email.sql', NULL, true)")
    report = commands.lint(dataclasses.replace(settings, database_url=database_url), [folder])
    assert [(f.code, f.location.path if f.location else None) for f in report.findings] == [
        ("DBS117", "db/migrations/V3__orders.sql")]
    assert report.summary["migrations"] == 2
    assert "says 2 of these files ran there" in " ".join(report.summary["lines"])


_FLYWAY_TABLE = ("CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version "
                 "varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL, "
                 "script varchar(1000) NOT NULL, checksum int, success boolean NOT NULL);")


def test_lint_says_flyway_refuses_to_migrate_past_a_failed_migration_as_status_does(
        tmp_path: Path, database_url: str) -> None:
    # V2 ran outside a transaction and failed half-way: Flyway recorded it `success = false`
    # and its migrate validates first ("Validate failed: Detected failed migration to
    # version 2 (orders)", MigrationInfoImpl.validate) and runs nothing until `flyway
    # repair`; the index V2 made before it failed may be there. status and drift said so
    # (DBS612); lint FOLDER --database-url linted V2 as pending and passed (exit 0 but for
    # V2's own findings).
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    users = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
    (folder / "V1__users.sql").write_text(users)
    (folder / "V1_1__email.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    (folder / "V2__orders.sql").write_text(
        "CREATE INDEX CONCURRENTLY users_name ON users (name);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(users + "ALTER TABLE users ADD COLUMN email text;" + _FLYWAY_TABLE +
                     "INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', NULL, true), "
                     "(2, '1.1', 'email', 'SQL', 'V1_1__email.sql', NULL, true), "
                     "(3, '2', 'orders', 'SQL', 'V2__orders.sql', NULL, false)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    [said] = commands.status(settings).findings
    report = commands.lint(settings, [folder])
    assert [(f.code, f.message, f.subject, f.severity.value, f.help)
            for f in report.findings] == [
        ("DBS612", "flyway refuses to migrate the database: Validate failed: Detected failed "
                   "migration to version 2 (orders).", "db/migrations/V1_1__email.sql",
         "error", said.help)]
    assert said == report.findings[0]
    assert "says 2 of these files ran there" in " ".join(report.summary["lines"])
    # Validation off, Flyway's migrate refuses all the same, in its own words.
    (tmp_path / "flyway.conf").write_text("flyway.validateOnMigrate=false\n")
    assert [f.message for f in commands.lint(settings, [folder]).findings] == [
        'flyway refuses to migrate the database: Schema "public" contains a failed migration '
        "to version 2 !"]
    # A lone failed row past every file's version Flyway passes (`*:future`) and migrates.
    (tmp_path / "flyway.conf").unlink()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE flyway_schema_history SET version = '9' WHERE installed_rank = 3")
    assert commands.status(settings).findings == commands.lint(settings, [folder]).findings == ()


def test_lint_says_flyway_refuses_an_applied_row_no_file_resolves_unless_it_passes_it(
        tmp_path: Path, database_url: str) -> None:
    # V1_1 ran, its file is gone, V2 is pending: Flyway's migrate validates first and fails
    # ("Detected applied migration not resolved locally: 1.1", MigrationInfoImpl.validate:
    # `Missing`, below V2) unless ignoreMigrationPatterns passes it (`*:missing`). lint
    # linted V2 as pending and passed either way, saying nothing of the row.
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    users = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
    (folder / "V1__users.sql").write_text(users)
    (folder / "V2__orders.sql").write_text("CREATE TABLE orders (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(users + "ALTER TABLE users ADD COLUMN email text;" + _FLYWAY_TABLE +
                     "INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', NULL, true), "
                     "(2, '1.1', 'email', 'SQL', 'V1_1__email.sql', NULL, true)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    [said] = commands.status(settings).findings
    report = commands.lint(settings, [folder])
    assert report.findings == (said,)
    assert (said.code, said.message, said.subject) == (
        "DBS612", "flyway refuses to migrate the database: Validate failed: Detected applied "
                  "migration not resolved locally: 1.1.", "db/migrations/V1__users.sql")
    (tmp_path / "flyway.conf").write_text("flyway.ignoreMigrationPatterns=*:missing\n")
    report = commands.lint(settings, [folder])
    assert report.findings == commands.status(settings).findings == ()
    assert report.summary["migrations"] == 1
    assert "passes: 1.1 (missing)" in " ".join(report.summary["lines"])


def test_lint_says_sqlx_refuses_to_migrate_past_a_dirty_migration_as_status_does(
        tmp_path: Path, database_url: str) -> None:
    # sqlx's migrate reads the first `success = false` row before anything else
    # (sqlx-postgres' dirty_version) and stops: "migration 2 is partially applied; fix and
    # remove row from `_sqlx_migrations` table" (MigrateError::Dirty). lint linted 2 and 3
    # as pending and passed.
    from dbsafe.config import load_settings

    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\n\n[dependencies]\nsqlx = { version = "0.8", features = '
        '["postgres"] }\n')
    folder = tmp_path / "migrations"
    folder.mkdir()
    users = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
    (folder / "1_users.sql").write_text(users)
    (folder / "2_email.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # as sqlx-postgres' ensure_migrations_table makes it
        conn.execute(users + "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, "
                     "description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT "
                     "now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, "
                     "execution_time BIGINT NOT NULL)")
        conn.execute("INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                     "execution_time) VALUES (1, 'users', true, sha384(%s), 1), "
                     "(2, 'email', false, '\\x00', 1)", (users.encode(),))
    settings = dataclasses.replace(load_settings(
        tmp_path, {"database-url": database_url}, environ={}), ignore=("DBS115",))
    [said] = commands.status(settings).findings
    report = commands.lint(settings, [folder])
    assert [(f.code, f.message, f.subject) for f in report.findings] == [
        ("DBS612", "sqlx refuses to migrate the database: migration 2 is partially applied; "
                   "fix and remove row from `_sqlx_migrations` table.", "migrations/1_users.sql")]
    assert said == report.findings[0]
    # Its row removed (the migration undone), sqlx runs 2 again: nothing refused.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM _sqlx_migrations WHERE version = 2")
    assert commands.lint(settings, [folder]).findings == ()


# V1's text and the checksum Flyway recorded for it (Java 17's CRC32 over its lines).
_USERS = "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
_USERS_CHECKSUM = -733506245


def test_lint_says_flyway_refuses_an_edited_applied_file_and_an_out_of_order_one_as_status(
        tmp_path: Path, database_url: str) -> None:
    # V1 was edited after it ran (its checksum is no longer the recorded one) and V1_1 was
    # added below V2, which ran: Flyway's migrate validates first and fails ("Migration
    # checksum mismatch for migration version 1", "Detected resolved migration not applied
    # to database: 1.1", MigrationInfoImpl.validate). status said so (DBS612); lint FOLDER
    # --database-url linted V1_1 as pending and passed.
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__users.sql").write_text(_USERS.replace("name text", "name varchar(80)"))
    (folder / "V1_1__email.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    (folder / "V2__orders.sql").write_text("CREATE TABLE orders (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_USERS + "CREATE TABLE orders (id int);" + _FLYWAY_TABLE)
        conn.execute("INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', %s, true), "
                     "(2, '2', 'orders', 'SQL', 'V2__orders.sql', NULL, true)",
                     (_USERS_CHECKSUM,))
    settings = dataclasses.replace(load_settings(
        tmp_path, {"database-url": database_url}, environ={}), ignore=("DBS115",))
    [said] = commands.status(settings).findings
    report = commands.lint(settings, [folder])
    assert report.findings == (said,)
    assert said.code == "DBS612" and said.subject == "db/migrations/V2__orders.sql"
    assert said.message.startswith(
        "flyway refuses to migrate the database: Validate failed: Migration checksum mismatch "
        f"for migration version 1 -> Applied to database : {_USERS_CHECKSUM} -> Resolved "
        "locally : ")
    assert said.message.endswith(
        "; Detected resolved migration not applied to database: 1.1.")
    # Told to run it out of order, Flyway refuses for the edit alone.
    (tmp_path / "flyway.conf").write_text("flyway.outOfOrder=true\n")
    [said] = commands.status(settings).findings
    assert commands.lint(settings, [folder]).findings == (said,)
    assert "1.1" not in said.message and "checksum mismatch" in said.message
    # Told not to validate, it runs V1_1 and says nothing of V1: a warning (DBS605).
    (tmp_path / "flyway.conf").write_text("flyway.outOfOrder=true\n"
                                          "flyway.validateOnMigrate=false\n")
    [said] = commands.status(settings).findings
    report = commands.lint(settings, [folder])
    assert report.findings == (said,)
    assert (said.code, said.subject) == ("DBS605", "db/migrations/V1__users.sql")
    assert report.summary["migrations"] == 1
    # The edit undone, nothing to say.
    (folder / "V1__users.sql").write_text(_USERS)
    assert commands.status(settings).findings == commands.lint(settings, [folder]).findings == ()


def test_a_baseline_migrations_version_is_the_latest_file_one_flyway_tells_missing_by(
        tmp_path: Path, database_url: str) -> None:
    # V2 ran, its file is gone; B3 (a baseline migration, which Flyway ignores on this
    # database) is the folder's latest version: Flyway's `lastResolved` is 3, so the row
    # is Missing, not Future, and its validation fails ("Detected applied migration not
    # resolved locally: 2"). dbsafe left B3 out of the latest version: 2 was Future, passed.
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__users.sql").write_text(_USERS)
    (folder / "B3__base.sql").write_text(_USERS + "CREATE TABLE orders (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_USERS + "CREATE TABLE orders (id int);" + _FLYWAY_TABLE)
        conn.execute("INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', %s, true), "
                     "(2, '2', 'orders', 'SQL', 'V2__orders.sql', NULL, true)",
                     (_USERS_CHECKSUM,))
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    [said] = commands.status(settings).findings
    assert commands.lint(settings, [folder]).findings == (said,)
    assert (said.code, said.message) == (
        "DBS612", "flyway refuses to migrate the database: Validate failed: Detected applied "
                  "migration not resolved locally: 2.")
    assert "applied, no file" not in " ".join(commands.status(settings).summary["lines"])


def test_of_several_flyway_baseline_rows_the_highest_version_is_the_baseline(
        tmp_path: Path, database_url: str) -> None:
    # Two baseline migrations' rows: B3's, then B2's. Flyway's baseline is the highest
    # version's (`appliedBaseline`, `isNewerThan`), 3: V1 to V3 are below it (V2_5 too,
    # "Below Baseline", never validated), V4 alone is pending. dbsafe took the latest row's,
    # 2: V2_5, below V3's version, was a file Flyway's validation refuses to skip (DBS612).
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for version in (1, 2, "2_5", 3, 4):
        (folder / f"V{version}__t{version}.sql").write_text(
            f"CREATE TABLE t{version} (id int);\n")
    (folder / "B2__base.sql").write_text("CREATE TABLE t1 (id int); CREATE TABLE t2 (id int);\n")
    (folder / "B3__base.sql").write_text(
        "CREATE TABLE t1 (id int); CREATE TABLE t2 (id int); CREATE TABLE t3 (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t1 (id int); CREATE TABLE t2 (id int); "
                     "CREATE TABLE t3 (id int);" + _FLYWAY_TABLE +
                     "INSERT INTO flyway_schema_history VALUES "
                     "(1, '3', 'base', 'SQL_BASELINE', 'B3__base.sql', NULL, true), "
                     "(2, '2', 'base', 'SQL_BASELINE', 'B2__base.sql', NULL, true)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
    status = commands.status(settings)
    assert status.summary["pending"] == [{"migration": "db/migrations/V4__t4.sql"}]
    assert status.findings == ()
    report = commands.lint(settings, [folder])
    assert report.summary["migrations"] == 1
    assert report.findings == ()


def test_a_flyway_flag_neither_true_nor_false_is_refused_as_flyway_refuses_it(
        tmp_path: Path, database_url: str) -> None:
    # `flyway.outOfOrder=yes`: Flyway refuses to start ("Invalid value for outOfOrder (should
    # be either true or false): yes", ConfigUtils.removeBoolean). dbsafe read it as false and
    # said Flyway refuses V1_1 (DBS612), which Flyway never got to. Its case aside (Flyway
    # since 9.20.1 reads `TRUE` as true): then V1_1 runs out of order.
    from dbsafe.config import load_settings
    from dbsafe.core import SourceError

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__users.sql").write_text(_USERS)
    (folder / "V1_1__email.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    (folder / "V2__orders.sql").write_text("CREATE TABLE orders (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_USERS + "CREATE TABLE orders (id int);" + _FLYWAY_TABLE)
        conn.execute("INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', %s, true), "
                     "(2, '2', 'orders', 'SQL', 'V2__orders.sql', NULL, true)",
                     (_USERS_CHECKSUM,))
    settings = dataclasses.replace(load_settings(
        tmp_path, {"database-url": database_url}, environ={}), ignore=("DBS115",))
    (tmp_path / "flyway.conf").write_text("flyway.outOfOrder=yes\n")
    for run in (lambda: commands.status(settings), lambda: commands.lint(settings, [folder])):
        with pytest.raises(SourceError, match=r"Invalid value for outOfOrder \(should be "
                                              r"either true or false\): yes$"):
            run()
    (tmp_path / "flyway.conf").write_text("flyway.outOfOrder=TRUE\n")
    assert commands.status(settings).summary["pending"] == [
        {"migration": "db/migrations/V1_1__email.sql"}]
    assert commands.lint(settings, [folder]).findings == ()


def test_lint_says_sqlx_refuses_to_migrate_past_an_edited_applied_file_as_status_does(
        tmp_path: Path, database_url: str) -> None:
    # 1_users.sql was edited after sqlx ran it: its SHA-384 is not the recorded one, and
    # sqlx's migrate stops there ("migration 1 was previously applied but has been
    # modified", MigrateError::VersionMismatch). status said so (DBS612); lint linted 2 as
    # pending and passed.
    from dbsafe.config import load_settings

    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\n\n[dependencies]\nsqlx = { version = "0.8", features = '
        '["postgres"] }\n')
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_users.sql").write_text(_USERS.replace("name text", "name varchar(80)"))
    (folder / "2_email.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # as sqlx-postgres' ensure_migrations_table makes it
        conn.execute(_USERS + "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, "
                     "description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT "
                     "now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, "
                     "execution_time BIGINT NOT NULL)")
        conn.execute("INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                     "execution_time) VALUES (1, 'users', true, sha384(%s), 1)",
                     (_USERS.encode(),))
    settings = dataclasses.replace(load_settings(
        tmp_path, {"database-url": database_url}, environ={}), ignore=("DBS115",))
    [said] = commands.status(settings).findings
    assert commands.lint(settings, [folder]).findings == (said,)
    assert (said.code, said.message, said.subject) == (
        "DBS612", "sqlx refuses to migrate the database: migration 1 was previously applied "
                  "but has been modified.", "migrations/1_users.sql")
    # The edit undone, sqlx runs 2: nothing refused.
    (folder / "1_users.sql").write_text(_USERS)
    assert commands.status(settings).findings == commands.lint(settings, [folder]).findings == ()


def test_lint_says_a_flyway_file_its_configuration_skips_for_good_is_never_run_as_status(
        tmp_path: Path, database_url: str) -> None:
    # V1_1 was added below V2, which ran, and Flyway is told not to validate: it skips V1_1
    # for good (`IGNORED`, never run out of order). status said so (DBS613); lint linted
    # V1_1 as pending, as if it would run.
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__users.sql").write_text(_USERS)
    (folder / "V1_1__email.sql").write_text("ALTER TABLE users ADD COLUMN email text;\n")
    (folder / "V2__orders.sql").write_text("CREATE TABLE orders (id int);\n")
    (folder / "V3__tags.sql").write_text("CREATE TABLE tags (id int);\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(_USERS + "CREATE TABLE orders (id int);" + _FLYWAY_TABLE)
        conn.execute("INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'users', 'SQL', 'V1__users.sql', %s, true), "
                     "(2, '2', 'orders', 'SQL', 'V2__orders.sql', NULL, true)",
                     (_USERS_CHECKSUM,))
    (tmp_path / "flyway.conf").write_text("flyway.validateOnMigrate=false\n")
    settings = dataclasses.replace(load_settings(
        tmp_path, {"database-url": database_url}, environ={}), ignore=("DBS115",))
    [said] = commands.status(settings).findings
    report = commands.lint(settings, [folder])
    assert report.findings == (said,)
    assert (said.code, said.subject) == ("DBS613", "db/migrations/V1_1__email.sql")
    assert report.summary["migrations"] == 1  # V3 alone


def test_a_table_a_file_that_ran_renamed_is_weighed_by_its_size_under_the_new_name(
        tmp_path: Path, database_url: str) -> None:
    # The database holds the rename already (its history says the file ran): `keeper` is its
    # table, 100 rows, not one that leads back to `holder`, which it no longer has.
    files = {"20240101000000_init": "CREATE TABLE holder (id int PRIMARY KEY, plan text);\n",
             "20240201000000_rename": "ALTER TABLE holder RENAME TO keeper;\n",
             "20240301000000_index": "CREATE INDEX keeper_plan ON keeper (plan);\n"}
    folder = tmp_path / "prisma" / "migrations"
    for name, sql in files.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "migration.sql").write_text(sql)
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(PRISMA_HISTORY)
        for name in ("20240101000000_init", "20240201000000_rename"):
            conn.execute(files[name])
            conn.execute(
                'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, '
                "applied_steps_count) VALUES (%s, %s, now(), %s, 1)",
                (str(uuid.uuid4()), hashlib.sha256(files[name].encode()).hexdigest(), name))
        conn.execute("INSERT INTO keeper SELECT g, 'free' FROM generate_series(1, 100) g")
        conn.execute("ANALYZE keeper")
    settings = Settings(project_root=tmp_path, database_url=database_url, select=("DBS101",))
    [finding] = commands.lint(settings, [folder]).findings
    assert (finding.subject, finding.severity.value) == ("keeper", "warning")
    assert "~100 rows" in dict(finding.context)["Table size"]


def test_a_runner_applying_every_pending_file_in_one_transaction_holds_their_locks_as_lint_says(
        tmp_path: Path, database_url: str) -> None:
    # Flyway with `group = true` (Boundary's runner, node-pg-migrate's default) runs V2 and
    # V3 in one transaction: the ACCESS EXCLUSIVE lock V2's ALTER takes on `orders` is still
    # held, as a second session's pg_locks shows, while V3's UPDATE of `users` runs. With
    # `sql-migrations-in-transaction = true` (each file its own) lint saw V3 alone: nothing.
    from dbsafe.config import load_settings

    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    tables = ("CREATE TABLE users (id int PRIMARY KEY, name text);\n"
              "CREATE TABLE orders (id int PRIMARY KEY, user_id int);\n")
    v2 = "ALTER TABLE orders ADD COLUMN archived boolean;\n"
    v3 = "UPDATE users SET name = 'x' WHERE name IS NULL;\n"
    for name, sql in (("V1__tables.sql", tables), ("V2__archived.sql", v2),
                      ("V3__names.sql", v3)):
        (folder / name).write_text(sql)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(tables + _FLYWAY_TABLE + "INSERT INTO flyway_schema_history VALUES "
                     "(1, '1', 'tables', 'SQL', 'V1__tables.sql', NULL, true)")
    with psycopg.connect(database_url, autocommit=True) as runner, \
            psycopg.connect(database_url, autocommit=True) as observer:
        runner.execute("BEGIN")
        runner.execute(v2)
        runner.execute(v3)  # the second file, in the same transaction
        held = observer.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.granted AND c.relname IN ('orders', 'users') "
            "ORDER BY 1, 2", (runner.info.backend_pid,)).fetchall()
        runner.execute("ROLLBACK")
    assert ("orders", "AccessExclusiveLock") in held and ("users", "RowExclusiveLock") in held

    def lint_and_status(value: str) -> tuple[list[tuple[str, str, int, str]], dict]:
        (tmp_path / "pyproject.toml").write_text(
            f"[tool.dbsafe]\nsql-migrations-in-transaction = {value}\nlarge-table = 0\n")
        settings = load_settings(tmp_path, {"database-url": database_url}, environ={})
        found = [(f.code, f.location.path, f.location.line, f.message)
                 for f in commands.lint(dataclasses.replace(settings, select=("DBS114",)),
                                        [folder]).findings if f.location is not None]
        return found, commands.status(settings).summary

    found, said = lint_and_status('"all"')
    assert found == [(
        "DBS114", "db/migrations/V3__names.sql", 1,
        "This statement works on `users` while `orders` is still ACCESS EXCLUSIVE locked "
        "from `db/migrations/V2__archived.sql:1`, an earlier file of the same transaction; "
        "reads and writes on `orders` wait until COMMIT.")]
    assert said["one_transaction"] is True and said["lines"][1].startswith(
        'pending: 2 (applied in one transaction, `sql-migrations-in-transaction = "all"`')
    found, said = lint_and_status("true")
    assert found == [] and "one_transaction" not in said and said["lines"][1] == "pending: 2"


def test_node_pg_migrate_s_pending_files_are_linted_and_said_as_its_up_runs_them_together(
        tmp_path: Path, database_url: str) -> None:
    # node-pg-migrate's `up` (9.0.0, `--single-transaction` on by default) sends BEGIN, the
    # up section of each pending file, COMMIT: the ACCESS EXCLUSIVE lock the first pending
    # file's ALTER takes on `orders` is still held, as a second session's pg_locks shows,
    # while the next file's UPDATE of `users` runs. Untold, lint saw each file alone and
    # status said nothing; the file that ran (pgmigrations) holds nothing.
    (tmp_path / "package.json").write_text('{"dependencies": {"node-pg-migrate": "9.0.0"}}')
    folder = tmp_path / "migrations"
    folder.mkdir()
    tables = ("CREATE TABLE users (id int PRIMARY KEY, name text);\n"
              "CREATE TABLE orders (id int PRIMARY KEY, user_id int);\n")
    lock = "ALTER TABLE orders ADD COLUMN archived boolean;\n"
    work = "UPDATE users SET name = 'x' WHERE name IS NULL;\n"
    for name, sql in (("1700000000000_tables", tables), ("1700000000001_archived", lock),
                      ("1700000000002_names", work)):
        (folder / f"{name}.sql").write_text(f"-- Up Migration\n{sql}-- Down Migration\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(tables + "CREATE TABLE pgmigrations (id serial PRIMARY KEY, name "
                     "varchar(255) NOT NULL, run_on timestamp NOT NULL);"
                     "INSERT INTO pgmigrations (name, run_on) "
                     "VALUES ('1700000000000_tables', now())")
    with psycopg.connect(database_url, autocommit=True) as runner, \
            psycopg.connect(database_url, autocommit=True) as observer:
        runner.execute("BEGIN")
        runner.execute(lock)
        runner.execute(work)  # the next file, in the same transaction
        held = observer.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.granted AND c.relname IN ('orders', 'users') "
            "ORDER BY 1, 2", (runner.info.backend_pid,)).fetchall()
        runner.execute("ROLLBACK")
    assert ("orders", "AccessExclusiveLock") in held and ("users", "RowExclusiveLock") in held

    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0)
    report = commands.lint(dataclasses.replace(settings, select=("DBS114",)), [folder])
    assert [(f.code, f.location.path, f.location.line) for f in report.findings
            if f.location is not None] == [("DBS114", "migrations/1700000000002_names.sql", 2)]
    assert "from `migrations/1700000000001_archived.sql:2`, an earlier file" in \
        report.findings[0].message
    said = commands.status(dataclasses.replace(settings, sql_migrations=folder)).summary
    assert said["one_transaction_by"] == "node-pg-migrate's `--single-transaction`, its default"
    assert said["lines"][1] == (
        "pending: 2 (applied in one transaction, node-pg-migrate's `--single-transaction`, its "
        "default: the locks of each are held until the last commits, and a failure in any "
        "rolls them all back)")

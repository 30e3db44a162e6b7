"""`dbsafe drift` on a database where a migration was run by hand, its history row never
written: each object it made is DBS402 against the recorded revision, and the finding says
which pending migration makes it and what the next upgrade fails on (task 580), and whether
all of that migration is in the database, so that recording it as run is safe, or what of it
is missing (task 603). Real PostgreSQL; the mends said are run: alembic's own `stamp`, the
rows dbmate and goose read, golang-migrate's `force` as its source writes it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.migrate.runner import AlembicProject, MigrationError, apply
from tests.gates.histories import write_history
from tests.helpers import at_revision

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0001 makes `users` and `legacy`; 0002 adds `users.email` and makes `visits` and its
    index; 0003 drops `legacy`. A cache of the module's own: each schema built once."""
    root = tmp_path_factory.mktemp("pending")
    write_history(root, [
        ("CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE legacy (id int)", ""),
        (ZERO_TWO, ""),
        ("DROP TABLE legacy", ""),
    ])
    return root


ZERO_TWO = ("ALTER TABLE users ADD COLUMN email text; "
            "CREATE TABLE visits (id int, note text); CREATE INDEX visits_id ON visits (id)")


def _settings(root: Path, url: str):
    return load_settings(root, {"alembic-config": root / "alembic.ini", "database-url": url,
                                "cache-dir": root / "cache"}, environ={})


def test_a_revision_run_by_hand_is_said_with_the_pending_revision_the_upgrade_fails_on(
        history: Path, database_url: str) -> None:
    at_revision(database_url, history / "alembic.ini", "0001")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # 0002 and 0003 pasted into psql, alembic_version left at 0001; and an index no
        # revision makes
        conn.execute(ZERO_TWO)
        conn.execute("DROP TABLE legacy")
        conn.execute("CREATE INDEX ix_by_hand ON users (id)")
    settings = _settings(history, database_url)

    report = commands.drift(settings)

    assert report.summary["pending"] == ["0002", "0003"]
    found = {f.subject: f for f in report.findings}
    assert [(f.code, f.subject) for f in report.findings] == [
        ("DBS401", "public.legacy"), ("DBS402", "public.users.email"),
        ("DBS402", "public.users.ix_by_hand"), ("DBS402", "public.visits")]
    assert found["public.users.email"].message == (
        "Column `public.users.email` is in the database but not in the migrations at 0001; "
        "revision 0002, not yet applied, makes it, so `alembic upgrade` will fail on it "
        "with 42701 (column already exists).")
    assert found["public.visits"].message.endswith(
        "revision 0002, not yet applied, makes it, so `alembic upgrade` will fail on it "
        "with 42P07 (relation already exists).")
    assert found["public.legacy"].message == (
        "Table `public.legacy` is in the migrations at 0001 but not in the database; "
        "revision 0003, not yet applied, drops it, so `alembic upgrade` will fail on it "
        "with 42P01 (relation does not exist) unless its DROP says IF EXISTS.")
    assert dict(found["public.visits"].context)["Pending migration"] == "0002"
    # all of 0002 is here (and of 0003, with it): the stamp is safe
    assert found["public.visits"].help == (
        "Revision 0002 ran here by hand, its alembic_version row never written; everything "
        "it does is in the database: `alembic stamp 0002` records it, then run `dbsafe "
        "drift` again.")
    assert found["public.legacy"].help == (
        "Revision 0003 ran here by hand, its alembic_version row never written; everything "
        "it (and every pending revision before it) does is in the database: `alembic stamp "
        "0003` records it, then run `dbsafe drift` again.")
    # no pending revision makes it: said as before
    assert "Pending migration" not in dict(found["public.users.ix_by_hand"].context)
    assert (found["public.users.ix_by_hand"].help or "").startswith("Put the change in")

    # What the finding says is what alembic does
    project = AlembicProject(history / "alembic.ini")
    with pytest.raises(MigrationError) as failed:
        apply(project, database_url, [("upgrade", "heads")])
    assert failed.value.sqlstate == "42701"

    # Mended as the help says: stamped, 0002 is no longer pending, 0003 still drops legacy
    apply(project, database_url, [("stamp", "0002")])
    after = commands.drift(settings)
    assert after.summary["pending"] == ["0003"]
    assert [(f.code, f.subject, dict(f.context).get("Pending migration"))
            for f in after.findings] == [("DBS401", "public.legacy", "0003"),
                                         ("DBS402", "public.users.ix_by_hand", None)]

    # --sql is the DDL alone: no schema at head built for it
    sql, differences = commands.drift_sql(settings)
    assert differences == 2 and "CREATE TABLE public.legacy" in sql


def test_a_revision_run_in_part_says_what_of_it_is_missing_before_a_stamp(
        history: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at_revision(database_url, history / "alembic.ini", "0001")
    from dbsafe.gates import drift

    built: list[object] = []
    real = drift._expected
    monkeypatch.setattr(drift, "_expected", lambda *a: built.append(tuple(a[2])) or real(*a))
    with psycopg.connect(database_url, autocommit=True) as conn:
        # the start of 0002 pasted: `visits` without its column `note` and its index, and
        # no `users.email`
        conn.execute("CREATE TABLE visits (id int)")
    settings = _settings(history, database_url)

    [finding] = commands.drift(settings).findings

    assert (finding.subject, dict(finding.context)["Pending migration"]) == (
        "public.visits", "0002")
    assert finding.help == (
        "Revision 0002 ran here by hand, its alembic_version row never written, but not "
        "all of it: of what it does, column `public.users.email` (missing), column "
        "`public.visits.note` (missing), index `public.visits.visits_id` (missing) are not "
        "in the database. Run "
        "the rest of it, or undo what of it ran, before `alembic stamp 0002`; else drop "
        "`public.visits` so the upgrade makes it.")
    # the schema after 0002 was built to find it: looked at again, not built again
    assert built == [("0001",), ("heads",), ("0002",)]

    # The rest of it run: now all of it is (the stamp: the first test)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN email text; "
                     "ALTER TABLE visits ADD COLUMN note text; "
                     "CREATE INDEX visits_id ON visits (id)")
    told = {f.subject: f.help for f in commands.drift(settings).findings}
    assert set(told) == {"public.users.email", "public.visits"}
    assert all("everything it does is in the database: `alembic stamp 0002`" in (h or "")
               for h in told.values())


def test_a_later_revision_all_here_is_the_one_to_stamp() -> None:
    # 0002 makes `visits` and `users.note`, 0003 makes `orders` and drops `users.note`: both
    # run by hand, `users.note` is gone. 0002 alone is not all here; up to 0003 everything is.
    from dbsafe.gates.drift_pending import clashes, mend
    from dbsafe.schema.diff import diff
    from dbsafe.schema.model import Column, Relation, SchemaSnapshot

    def table(name: str, *columns: str) -> Relation:
        return Relation("public", name, "table", columns=tuple(
            Column(c, "integer", i) for i, c in enumerate(columns, 1)))

    at_1 = SchemaSnapshot(relations=(table("users", "id"),))
    at_2 = SchemaSnapshot(relations=(table("users", "id", "note"), table("visits", "id")))
    at_3 = SchemaSnapshot(relations=(table("orders", "id"), table("users", "id"),
                                     table("visits", "id")))
    live = at_3
    found = {c.identity: c for c in clashes(diff(live, at_1), at_1, ["0002", "0003"],
                                            [at_2, at_3].__getitem__, live=live)}
    visits, orders = found["public", "visits"], found["public", "orders"]
    assert (visits.migration, [c.subject for c in visits.missing], visits.complete_at) == (
        "0002", ["public.users.note"], "0003")
    assert (orders.migration, orders.missing, orders.complete_at) == ("0003", (), "")
    assert "Everything up to 0003 is, though (made by hand too): `stamp 0003` records it" in \
        mend(visits, ran="0002 ran", record="`stamp {}`".format, undo="drop it", before=False)


def test_the_schema_at_head_is_built_only_for_an_object_on_one_side_with_pending_revisions(
        history: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at_revision(database_url, history / "alembic.ini", "0002")
    from dbsafe.gates import drift

    built: list[object] = []
    real = drift._expected
    monkeypatch.setattr(drift, "_expected", lambda *a: built.append(tuple(a[2])) or real(*a))
    settings = _settings(history, database_url)

    behind = commands.drift(settings)  # merely behind: nothing to match, no second schema
    assert behind.findings == () and behind.summary["pending"] == ["0003"]
    assert built == [("0002",)]

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE scratch (id int)")
    [finding] = commands.drift(settings).findings
    assert "Pending migration" not in dict(finding.context)  # no pending revision makes it
    assert built == [("0002",), ("0002",), ("heads",)]  # one pending: head alone


GOLANG_MIGRATE = {
    "db/migrations/1_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY, name text);\n",
    "db/migrations/2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "db/migrations/3_orders.up.sql": "CREATE TABLE orders (id int);\n",
}


def test_a_golang_migrate_file_run_by_hand_is_said_with_migrate_force(
        tmp_path: Path, database_url: str) -> None:
    for name, sql in GOLANG_MIGRATE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(sql)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(GOLANG_MIGRATE["db/migrations/1_users.up.sql"])
        conn.execute("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, "
                     "dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (1, false)")
        # the third file pasted into psql, the second not run: golang-migrate's next
        # `migrate up` runs 2, then fails on 3
        conn.execute("CREATE TABLE orders (id int)")
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})

    report = commands.drift(settings)

    assert report.summary["pending"] == ["db/migrations/2_email.up.sql",
                                         "db/migrations/3_orders.up.sql"]
    [finding] = report.findings
    assert (finding.code, finding.subject) == ("DBS402", "public.orders")
    assert finding.message == (
        "Table `public.orders` is in the database but not in the migrations up to "
        "db/migrations/1_users.up.sql; db/migrations/3_orders.up.sql, not yet run, makes it, "
        "so golang-migrate's next migrate will fail on it with 42P07 (relation already "
        "exists).")
    assert finding.help == (
        "db/migrations/3_orders.up.sql ran here by hand, golang-migrate's "
        "public.schema_migrations never told, but not all of it: of what it (and every "
        "pending file before it) does, column "
        "`public.users.email` (missing) is not in the database. Run the rest of it, or undo "
        "what of it ran, before `migrate force 3` (every file up to it counts as run); else "
        "drop `public.orders` so the migration makes it.")

    # the second file run by hand too: all is here, and `migrate force 3` is safe
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(GOLANG_MIGRATE["db/migrations/2_email.up.sql"])
    told = {f.subject: f.help for f in commands.drift(settings).findings}
    assert set(told) == {"public.users.email", "public.orders"}  # (each file's own)
    assert "does is in the database: `migrate force 3` (every file up to it counts as run) " \
        "records it" in (told["public.orders"] or "")
    # golang-migrate's `force 3` (migrate.go's Force, postgres.go's SetVersion): the table
    # truncated, one row (3, dirty false); its next `up` runs the files above 3 only
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE schema_migrations; "
                     "INSERT INTO schema_migrations (version, dirty) VALUES (3, false)")
    after = commands.drift(settings)
    assert after.findings == () and "pending" not in after.summary


def test_a_view_made_by_hand_where_a_revision_on_another_branch_makes_a_table(
        database_url: str, tmp_path: Path) -> None:
    # The `clean` history: the database at 0002 (branch a); 0003 (branch b) makes the table
    # `visits`. A view of that name fails it all the same (one namespace of relations), and
    # 0003 is stamped beside 0002, not instead of it.
    env = Path(__file__).parent / "envs" / "clean"
    at_revision(database_url, env / "alembic.ini", "0002")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE VIEW visits AS SELECT 1::bigint AS id")

    report = commands.drift(load_settings(
        env, {"alembic-config": env / "alembic.ini", "database-url": database_url,
              "cache-dir": tmp_path / "cache"}, environ={}))

    assert report.summary["pending"] == ["0003", "0004", "0005"]
    [finding] = report.findings
    assert (finding.code, finding.subject) == ("DBS402", "public.visits")
    assert finding.message.endswith(
        "revision 0003, not yet applied, makes it, so `alembic upgrade` will fail on it with "
        "42P07 (relation already exists).")
    # a view is not 0003's table: 0003 is not all here (what it makes in and beside it)
    assert finding.help == (
        "Revision 0003 ran here by hand, its alembic_version row never written, but not "
        "all of it: of what it does, function `public.one()` (missing), view "
        "`public.visit_count` (missing), table `public.visits` (missing) are not in the "
        "database. Run the rest of it, or "
        "undo what of it ran, before `alembic stamp 0002 0003`; else drop `public.visits` so "
        "the upgrade makes it.")


def test_a_revision_of_another_branch_all_here_is_stamped_beside_the_database_s(
        database_url: str, tmp_path: Path) -> None:
    # The `clean` history at 0002 (branch a), 0003 (branch b) pasted into psql whole: drift
    # says `alembic stamp 0002 0003`, and that very command, run by alembic's own CLI,
    # records it: no drift is left, and `alembic upgrade heads` runs the merge and after.
    clean = Path(__file__).parent / "envs" / "clean"
    shutil.copytree(clean, tmp_path / "clean", ignore=shutil.ignore_patterns("__pycache__"))
    env = tmp_path / "clean"
    at_revision(database_url, env / "alembic.ini", "0002")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE visits (id bigint PRIMARY KEY, "
                     "patient_id bigint REFERENCES patients); "
                     "CREATE VIEW visit_count AS SELECT patient_id, count(*) FROM visits "
                     "GROUP BY 1; CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    settings = load_settings(env, {"alembic-config": env / "alembic.ini",
                                   "database-url": database_url,
                                   "cache-dir": tmp_path / "cache"}, environ={})

    findings = commands.drift(settings).findings

    assert {f.subject for f in findings} == {
        "public.visits", "public.visit_count", "public.one()"}
    said = {f.help for f in findings}
    assert len(said) == 1
    [stamp] = re.findall(r"`(alembic stamp [^`]*)`", said.pop() or "")
    assert stamp == "alembic stamp 0002 0003"
    ini = env / "alembic.ini"
    ini.write_text(ini.read_text().replace(
        "postgresql+asyncpg://nobody@localhost/replaced_by_dbsafe", _asyncpg(database_url)))
    run = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini),
                          *shlex.split(stamp)[1:]], cwd=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    after = commands.drift(settings)
    assert after.findings == () and after.summary["pending"] == ["0004", "0005"]
    apply(AlembicProject(ini), database_url, [("upgrade", "heads")])


def _asyncpg(url: str) -> str:
    """The libpq URL `url` as the `clean` env.py's async engine takes it, for alembic.ini."""
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    p = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    socket = p.get("host", "").startswith("/")
    return URL.create("postgresql+asyncpg", p.get("user"), p.get("password"),
                      None if socket else p.get("host"), int(p["port"]) if "port" in p
                      else None, p.get("dbname"), {"host": p["host"]} if socket else {}
                      ).render_as_string(hide_password=False).replace("%", "%%")


# dbmate's and goose's files, three; the history table each reads with the first only run
ROW_RUNNERS = {
    "dbmate": (("db/migrations/001_users.sql", "db/migrations/002_email.sql",
                "db/migrations/003_orders.sql"), "-- migrate:up\n",
               "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); "
               "INSERT INTO schema_migrations VALUES ('001')"),
    "goose": (("db/migrations/00001_users.sql", "db/migrations/00002_email.sql",
               "db/migrations/00003_orders.sql"), "-- +goose Up\n",
              "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT "
              "NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now()); "
              "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), "
              "(1, true)"),
}


@pytest.mark.parametrize("runner", sorted(ROW_RUNNERS))
def test_files_run_by_hand_get_a_row_each_where_the_runner_keeps_one_per_migration(
        runner: str, tmp_path: Path, database_url: str) -> None:
    # Files 2 and 3 pasted into psql. dbmate runs any file without a row at its next
    # migrate, goose refuses one missing below its latest row: a row for 3 alone would not
    # do, the INSERT said records both, and it is run as said.
    names, marker, table = ROW_RUNNERS[runner]
    ups = list(GOLANG_MIGRATE.values())
    for name, sql in zip(names, ups, strict=True):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(marker + sql)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ups[0] + table)
        conn.execute(ups[1] + ups[2])
    settings = load_settings(tmp_path, {"database-url": database_url}, environ={})

    found = {f.subject: f for f in commands.drift(settings).findings}

    assert set(found) == {"public.users.email", "public.orders"}
    [insert] = re.findall(r"`(INSERT INTO [^`]*)`", found["public.orders"].help or "")
    assert insert == {
        "dbmate": "INSERT INTO public.schema_migrations (version) VALUES ('002'), ('003')",
        "goose": "INSERT INTO public.goose_db_version (version_id, is_applied) VALUES "
                 "(2, true), (3, true)"}[runner]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(insert)
    after = commands.drift(settings)
    assert after.findings == () and "pending" not in after.summary
    if runner == "dbmate" and shutil.which("dbmate"):  # (npm's `dbmate`): nothing to run
        run = subprocess.run(["dbmate", "--url", database_url, "--migrations-dir",
                              str(tmp_path / "db" / "migrations"), "--no-dump-schema",
                              "migrate"], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr

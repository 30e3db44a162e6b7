"""`dbsafe drift` on a database where a migration was run by hand, its history row never
written: each object it made is DBS402 against the recorded revision, and the finding says
which pending migration makes it and what the next upgrade fails on (task 580). Real
PostgreSQL, a real alembic run and a golang-migrate folder."""

from __future__ import annotations

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
    """0001 makes `users` and `legacy`; 0002 adds `users.email` and makes `visits`; 0003
    drops `legacy`. A cache of the module's own: each schema built once."""
    root = tmp_path_factory.mktemp("pending")
    write_history(root, [
        ("CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE legacy (id int)", ""),
        ("ALTER TABLE users ADD COLUMN email text; CREATE TABLE visits (id int)", ""),
        ("DROP TABLE legacy", ""),
    ])
    return root


def _settings(root: Path, url: str):
    return load_settings(root, {"alembic-config": root / "alembic.ini", "database-url": url,
                                "cache-dir": root / "cache"}, environ={})


def test_a_revision_run_by_hand_is_said_with_the_pending_revision_the_upgrade_fails_on(
        history: Path, database_url: str) -> None:
    at_revision(database_url, history / "alembic.ini", "0001")
    with psycopg.connect(database_url, autocommit=True) as conn:
        # 0002 and 0003 pasted into psql, alembic_version left at 0001; and an index no
        # revision makes
        conn.execute("ALTER TABLE users ADD COLUMN email text")
        conn.execute("CREATE TABLE visits (id int)")
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
    assert "`alembic stamp 0002` records it" in (found["public.visits"].help or "")
    assert "else drop `public.visits` so the upgrade makes it" in (
        found["public.visits"].help or "")
    assert "`alembic stamp 0003`" in (found["public.legacy"].help or "")
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
    assert "`migrate force 3` (every file up to it counts as run) records it" in (
        finding.help or "")
    assert "and of any file pending before it" in (finding.help or "")


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
    assert "`alembic stamp 0002 0003` records it" in (finding.help or "")

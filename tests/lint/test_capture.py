"""`dbsafe lint` on a history shaped like real ones: each revision captured as it runs on a
throwaway server, linted with what the earlier ones built, confirmed by PostgreSQL.

One history (built in tmp_path, linted once per module) holds the patterns that stopped or
misled lint on real projects: a data migration that reads the database through
`op.get_bind()`, `sa.inspect(bind)` and an ORM session; a revision that refuses offline
mode; a project that prints and logs on stdout; a revision that fails even on the
throwaway; and each precision case that needs the history (issue 10).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import DbsafeError, Report, Severity
from dbsafe.lint.locks import lock_report
from dbsafe.lint.run import load, load_migrations
from dbsafe.report import render_text
from tests.helpers import assert_snapshot, at_revision
from tests.migrate.projects import ALEMBIC_INI, ENV_PY

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

FIXTURES = Path(__file__).parent / "fixtures"

_HEAD = '''import logging

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}
logging.getLogger("app").warning("revision {rev} logs on import")
print("revision {rev} prints on import")


def downgrade():
    pass

'''

REVISIONS = {
    "r01": '''
def upgrade():
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(20)),
        sa.Column("note", sa.String(10)),
        sa.Column("total", sa.Integer),
    )
    op.execute("CREATE FUNCTION new_code() RETURNS text LANGUAGE sql "
               "AS $$ SELECT md5(random()::text) $$")
    op.execute("CREATE TYPE order_state AS ENUM ('new', 'paid')")
    op.add_column("orders", sa.Column("state", sa.Text))
    op.execute("ALTER TABLE orders ALTER COLUMN state TYPE order_state "
               "USING state::order_state")
    op.execute("INSERT INTO orders (id, status) VALUES (1, 'new')")
''',
    # A data migration: reads the database three ways, then changes types.
    "r02": '''
def upgrade():
    from sqlalchemy.orm import Session

    bind = op.get_bind()
    count = bind.execute(sa.text("SELECT count(*) FROM orders")).scalar()
    columns = [c["name"] for c in sa.inspect(bind).get_columns("orders")]
    session = Session(bind=bind)
    session.execute(sa.text("UPDATE orders SET note = :note WHERE id = :id"),
                    {"note": f"{count} of {len(columns)}", "id": 1})
    op.alter_column("orders", "status", type_=sa.Text)
    op.alter_column("orders", "total", type_=sa.BigInteger)
''',
    # Refuses offline mode on purpose, as some projects' revisions do.
    "r03": '''
def upgrade():
    if op.get_context().as_sql:
        raise RuntimeError("this revision reads the database; it cannot run with --sql")
    op.alter_column("orders", "id", nullable=False)
    op.add_column("orders", sa.Column("code", sa.Text, server_default=sa.text("new_code()")))
''',
    "r04": '''
def upgrade():
    op.execute("ALTER TYPE order_state RENAME TO order_state_old")
    op.execute("CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped')")
    op.execute("ALTER TABLE orders ALTER COLUMN state TYPE order_state "
               "USING state::text::order_state")
    op.execute("DROP TYPE order_state_old")
    op.add_column("orders", sa.Column("ref", sa.Text))
    op.alter_column("orders", "ref", new_column_name="reference")
    op.alter_column("orders", "note", server_default="none")
    # A column dbsafe cannot see being added (SQL built at run time): its type is unknown
    # to the rules.
    op.execute("DO $$ BEGIN EXECUTE 'ALTER TABLE orders ADD COLUMN ' || 'memo varchar(50)'; "
               "END $$")
    op.alter_column("orders", "memo", type_=sa.Text)
    # No-ops on this history: PostgreSQL locks nothing for them.
    op.execute("ALTER TABLE IF EXISTS orders_gone ADD CONSTRAINT positive CHECK (id > 0)")
    op.execute("ALTER TABLE IF EXISTS orders_gone ALTER COLUMN id SET NOT NULL")
''',
    "r05": '''
def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_orders_status", "orders", ["status"],
                        postgresql_concurrently=True)
        # a transaction of the revision's own in the block: alembic's ended as it began
        op.execute("BEGIN")
        op.execute("UPDATE orders SET total = 0 WHERE total IS NULL")
        op.execute("COMMIT")
        # Four keys (an expression one), INCLUDE besides: DBS139's note.
        op.create_index("ix_orders_lookup", "orders",
                        ["status", "total", "state", sa.text("lower(status)")],
                        postgresql_concurrently=True, postgresql_include=["id"])
    op.execute("""
        DO $$
        BEGIN
            ALTER TABLE orders ADD COLUMN uid uuid DEFAULT gen_random_uuid();
        END
        $$
    """)
''',
    "r06": '''
def upgrade():
    op.execute("ALTER TABLE invoices ADD COLUMN paid boolean")
    op.drop_column("orders", "note")
''',
    "r07": '''
def upgrade():
    op.create_index("ix_orders_total", "orders", ["total"])
''',
}


def write_history(root: Path, revisions: dict[str, str] = REVISIONS) -> Path:
    """The test history as an alembic project under `root`; returns alembic.ini."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    ini = root / "alembic.ini"
    ini.write_text(ALEMBIC_INI.format(url="driver://user:pass@localhost/dbname"))
    (root / "migrations" / "env.py").write_text(ENV_PY["well_behaved"])
    previous = None
    for rev, body in revisions.items():
        head = _HEAD.format(rev=rev, down=repr(previous))
        (versions / f"{rev}.py").write_text(head + body)
        previous = rev
    return ini


# The tests reading `history` run on one worker, one after another: it is built once
# (a throwaway database and every revision run, 3-4 s), not once per worker.
_ONE_HISTORY = pytest.mark.xdist_group("capture_history")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory,
            module_one_server_throwaways: None) -> tuple[Path, Report]:
    root = tmp_path_factory.mktemp("history")
    write_history(root)
    settings = Settings(project_root=root, ignore=("DBS115", "DBS210"))
    return root, commands.lint(settings)


def _by_revision(report: Report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in report.findings:
        revision = dict(f.context).get("Revision") or "?"
        found.setdefault(revision, set()).add(f.code)
    return found


def _findings_text(report: Report) -> str:
    return render_text(Report(report.findings), {})


@_ONE_HISTORY
def test_the_history_lints_as_committed(history: tuple[Path, Report]) -> None:
    _, report = history
    assert_snapshot(_findings_text(report), FIXTURES / "capture_history.expected")


@_ONE_HISTORY
def test_every_revision_is_linted_and_the_failing_one_is_named(
        history: tuple[Path, Report]) -> None:
    _, report = history
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert failed.subject == "r06"
    assert failed.location is not None and failed.location.path == "migrations/versions/r06.py"
    assert 'relation "invoices" does not exist' in failed.message
    assert failed.message.startswith("Revision r06 fails on a throwaway server (")
    assert "the revisions after it ran with it stamped as applied" in failed.message
    # r07 ran on a second database where r06 was stamped as applied.
    assert "DBS101" in _by_revision(report)["r07"]
    # What r06 would have run after its failure is rendered offline and linted.
    assert "the 1 statement(s) it would run after that were rendered offline" in failed.message
    assert "DBS202" in _by_revision(report)["r06"]
    assert report.summary["migrations"] == 7
    assert report.summary["lines"] == [
        "Linted the SQL each revision ran on a throwaway server."]


def test_a_revision_running_sql_at_import_is_captured_after_an_earlier_failure(
        tmp_path: Path) -> None:
    # FitTrackee's 66_c59425f77851 creates its enum at its module's top level, which runs
    # when alembic loads the history, before any revision: the first run (failing at r02)
    # held that revision's statements already, and its upgrade's were dropped as a dup.
    root = tmp_path / "p"
    write_history(root, {
        "r01": '''
def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))
''',
        "r02": '''
def upgrade():
    op.execute("ALTER TABLE no_such_table ADD COLUMN x int")
''',
        "r03": '''
from sqlalchemy.dialects import postgresql

state = postgresql.ENUM("new", "paid", name="state")
try:
    state.create(op.get_bind(), checkfirst=True)
except NameError:  # alembic's `revision` command loads it with no connection
    pass


def upgrade():
    op.add_column("users", sa.Column("state", state, server_default="new", nullable=False))
''',
        "r04": '''
def upgrade():
    op.execute("ALTER TYPE state RENAME TO state_old")
    op.execute("CREATE TYPE state AS ENUM ('new', 'paid', 'void')")
    op.execute("ALTER TABLE users ALTER COLUMN state DROP DEFAULT, "
               "ALTER COLUMN state TYPE state USING state::text::state")
''',
    })
    settings = Settings(project_root=root, select=("DBS005", "DBS110"))
    [r03] = [m for m in load_migrations(settings) if m.revision == "r03"]
    assert [s.sql for s in r03.statements if not s.generated] == [
        "ALTER TABLE users ADD COLUMN state state DEFAULT 'new' NOT NULL"]
    # ...so r04's type change is known to be from state_old (PostgreSQL rewrote users):
    # linted from that capture (the project's cache, new in tmp_path), not a second one.
    messages = {f.code: f.message for f in commands.lint(settings).findings}
    assert "from `state_old` to `state` rewrites `users`" in messages["DBS110"]


@_ONE_HISTORY
def test_a_data_migration_is_linted_from_the_sql_it_ran(history: tuple[Path, Report]) -> None:
    root, _ = history
    [r02] = [m for m in load_migrations(Settings(project_root=root)) if m.revision == "r02"]
    sql = [(s.location.line, s.sql) for s in r02.statements if not s.generated]
    # sa.inspect(bind)'s catalog queries are not the revision's SQL; bound values are inlined.
    assert sql == [
        (20, "SELECT count(*) FROM orders"),
        (23, "UPDATE orders SET note = '1 of 5' WHERE id = 1"),
        (25, "ALTER TABLE orders ALTER COLUMN status TYPE TEXT"),
        (26, "ALTER TABLE orders ALTER COLUMN total TYPE BIGINT"),
    ]


@_ONE_HISTORY
def test_postgresql_confirms_rewrites_and_drops_what_it_contradicts(
        history: tuple[Path, Report]) -> None:
    _, report = history
    rewrites = {f.subject: dict(f.context).get("Confirmed") for f in report.findings
                if f.code == "DBS110"}
    # varchar(20) -> text is binary-coercible: no finding; int -> bigint and an enum
    # recreated under its old name rewrite, and PostgreSQL says so.
    assert set(rewrites) == {"orders.total", "orders.state"}
    assert all(v and "relfilenode changed" in v for v in rewrites.values())


@_ONE_HISTORY
def test_a_rewrite_postgresql_did_not_do_is_dropped(history: tuple[Path, Report]) -> None:
    import dataclasses

    from dbsafe.lint.engine import lint_migration
    from dbsafe.lint.rules import column_type_change_rewrites_table

    root, report = history
    assert "orders.memo" not in {f.subject for f in report.findings if f.code == "DBS110"}
    # Without what PostgreSQL showed, the unknown old type is a "may rewrite" finding.
    [r04] = [m for m in load_migrations(Settings(project_root=root)) if m.revision == "r04"]
    blind = dataclasses.replace(r04, statements=tuple(
        dataclasses.replace(s, observed=None) for s in r04.statements))
    rules = [column_type_change_rewrites_table.RULE]
    assert "orders.memo" in {f.subject for f in lint_migration(blind, rules)}
    assert "orders.memo" not in {f.subject for f in lint_migration(r04, rules)}


@_ONE_HISTORY
def test_lock_findings_postgresql_contradicts_are_dropped_and_the_others_confirmed(
        history: tuple[Path, Report]) -> None:
    _, report = history
    subjects = {f.subject for f in report.findings}
    # Without what PostgreSQL showed, both no-ops of r04 are flagged (DBS106, DBS107).
    assert "orders_gone" not in subjects
    assert "orders_gone.id" not in subjects
    [index] = [f for f in report.findings if f.code == "DBS101"]
    assert dict(index.context)["Confirmed"] == (
        "PostgreSQL took a SHARE lock on `orders` on a throwaway server (pg_locks)")


@_ONE_HISTORY
def test_a_lock_postgresql_did_not_take_is_dropped(history: tuple[Path, Report]) -> None:
    import dataclasses

    from dbsafe.lint.engine import lint_migration
    from dbsafe.lint.rules import constraint_added_without_not_valid, set_not_null_without_check

    root, _ = history
    [r04] = [m for m in load_migrations(Settings(project_root=root)) if m.revision == "r04"]
    blind = dataclasses.replace(r04, statements=tuple(
        dataclasses.replace(s, observed=None) for s in r04.statements))
    rules = [constraint_added_without_not_valid.RULE, set_not_null_without_check.RULE]
    assert {f.subject for f in lint_migration(blind, rules)} == {"orders_gone",
                                                                 "orders_gone.id"}
    assert lint_migration(r04, rules) == []


def test_a_drop_if_exists_of_a_table_postgresql_did_not_have_drops_nothing(
        tmp_path: Path) -> None:
    # Open WebUI's 1af9b942657b runs `DROP TABLE IF EXISTS _alembic_tmp_tag`, a table its
    # history never made: PostgreSQL skips it with a notice and locks nothing, yet it was a
    # DBS201 error, and `dbsafe upgrade` refused the upgrade over it. One that exists is.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": '''
def upgrade():
    op.execute("DROP TABLE IF EXISTS _alembic_tmp_tag")
    op.execute("DROP TABLE IF EXISTS orders")
'''})
    report = commands.lint(Settings(project_root=root, select=("DBS201",)))
    assert [(f.code, f.subject) for f in report.findings
            if dict(f.context).get("Revision") == "r02"] == [("DBS201", "orders")]


def test_every_statement_of_a_multi_statement_execute_is_linted(tmp_path: Path) -> None:
    # One execute() of three statements: the second and third were not linted at all, and
    # the first was blamed for the new table's lock (DBS119).
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": '''
def upgrade():
    op.execute("CREATE TABLE audit (id int); CREATE INDEX ix_orders_note ON orders (note); "
               "ALTER TABLE orders ADD COLUMN ref text DEFAULT md5(random()::text)")
'''})
    report = commands.lint(Settings(project_root=root, ignore=("DBS115", "DBS210")))
    found = {(f.code, f.subject): dict(f.context) for f in report.findings
             if dict(f.context).get("Revision") == "r02"}
    assert {("DBS101", "orders"), ("DBS109", "orders.ref")} <= set(found)
    assert not any(code in ("DBS005", "DBS119") for code, _ in found)
    assert found[("DBS101", "orders")]["In"] == "one execute() of 3 statements"


def test_a_do_block_branch_the_empty_throwaway_tables_skipped_keeps_its_finding(
        tmp_path: Path) -> None:
    # The throwaway server's orders is empty, so the branch does not run there; with
    # production's rows it builds the index without CONCURRENTLY.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": '''
def upgrade():
    with op.get_context().autocommit_block():  # what follows opens a transaction of its own
        op.execute("SELECT 1")
    op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM orders WHERE total > 100) THEN "
               "CREATE INDEX ix_orders_total ON orders (total); END IF; END $$")
    op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM orders) THEN "
               "ALTER TABLE orders ALTER COLUMN status SET NOT NULL; END IF; END $$")
'''})
    report = commands.lint(Settings(project_root=root, ignore=("DBS115", "DBS210")))
    found = {(f.code, f.subject): dict(f.context) for f in report.findings
             if dict(f.context).get("Revision") == "r02"}
    assert ("DBS101", "orders") in found
    # The branch that ran on the throwaway server (r01 inserted a row) is confirmed.
    assert "Confirmed" in found[("DBS107", "orders.status")]


@_ONE_HISTORY
def test_history_aware_precision(history: tuple[Path, Report]) -> None:
    _, report = history
    found = _by_revision(report)
    assert "DBS107" not in found.get("r03", set())  # orders.id is a primary key since r01
    assert "DBS109" in found["r03"]  # new_code() is a user function, VOLATILE by default
    assert "DBS203" not in found.get("r04", set())  # `ref` was added by the same revision
    assert "DBS109" in found["r05"]  # inside a DO block
    # r05's COMMIT ends the transaction its own BEGIN opened in autocommit_block(), not
    # alembic's (which the block's start committed)
    assert "DBS138" not in found["r05"]


@_ONE_HISTORY
def test_locks_show_what_postgresql_took(history: tuple[Path, Report]) -> None:
    root, _ = history
    rows = lock_report(load_migrations(Settings(project_root=root)))
    # r05's DO block runs first in the transaction alembic opens after autocommit_block().
    [do_block] = [r for r in rows if r.location.path.endswith("r05.py") and "uid" in r.statement]
    assert do_block.statement.startswith("ALTER TABLE orders ADD COLUMN uid")
    assert (do_block.mode, do_block.relation, do_block.source) == (
        "ACCESS EXCLUSIVE", "orders", "observed")
    # Later in one transaction, pg_locks cannot show a statement's own request: it says so
    # (env.py runs r01-r05 in one transaction: r01 took it).
    [set_default] = [r for r in rows if "SET DEFAULT" in r.statement]
    assert (set_default.mode, set_default.source) == ("ACCESS EXCLUSIVE", "predicted")
    assert set_default.note == ("ACCESS EXCLUSIVE already held since an earlier revision of "
                                "the transaction (pg_locks)")
    concurrent = [r for r in rows if "CONCURRENTLY" in r.statement]
    # Outside a transaction block the lock is gone before pg_locks can be read.
    assert {r.source for r in concurrent} == {"predicted"}
    # r07 opens a new transaction (r06 stamped in between): its own lock is seen.
    assert [(r.mode, r.source) for r in rows if r.location.path.endswith("r07.py")] == [
        ("SHARE", "observed")]


@_ONE_HISTORY
def test_a_rerun_with_nothing_changed_uses_the_cache(history: tuple[Path, Report]) -> None:
    root, _ = history
    loaded = load(Settings(project_root=root))
    # Said by the loader itself: no server was started, no revision ran (no timing here:
    # speed is measured by scripts/bench, never asserted).
    assert loaded.lines[0].endswith(", cached.")


def test_the_cache_folder_inside_the_script_location_keeps_its_key(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"]})
    settings = Settings(project_root=root, cache_dir=root / "migrations" / ".dbsafe_cache")
    assert not load(settings).lines[0].endswith("cached.")
    assert load(settings).lines[0].endswith(", cached.")


def test_offline_says_which_revision_it_could_not_render(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r03")})
    report = commands.lint(Settings(project_root=root), offline=True)
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert failed.subject == "r03"
    assert "cannot be rendered offline" in failed.message
    assert "this revision reads the database" in failed.message
    # The revisions before it are rendered on their own and linted.
    assert "the revisions after it were not linted" in failed.message
    assert report.summary["migrations"] == 1


def test_offline_rendering_after_a_failed_run_says_why_the_run_failed(tmp_path: Path) -> None:
    # mealie's env.py builds its engine from its own settings: with SQLAlchemy 2.1 (whose
    # bare postgresql:// is psycopg 3) and only psycopg2 installed, it failed to connect on
    # the throwaway; the fallback to offline rendering stopped at its first revision, and
    # the finding, the only word `upgrade`'s preflight gave, said to "lint without
    # --offline", never passed, and not why the run failed.
    root = tmp_path / "p"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r03")})
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "def run_migrations_online():\n",
        "def run_migrations_online():\n    import dbsafe_test_missing_driver  # noqa: F401\n"))
    report = commands.lint(Settings(project_root=root, use_cache=False))
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert failed.subject == "r03"
    assert "cannot be rendered offline" in failed.message
    assert "without --offline" not in failed.message
    assert "could not run on a throwaway server" in failed.message
    assert "No module named 'dbsafe_test_missing_driver'" in failed.message


def test_with_a_database_only_the_revisions_after_its_own_are_linted(
        tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "p"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r02", "r03")})
    at_revision(database_url, root / "alembic.ini", "r02")
    report = commands.lint(Settings(project_root=root, database_url=database_url,
                                    ignore=("DBS115", "DBS211")))
    assert {dict(f.context).get("Revision") for f in report.findings} == {"r03"}
    # (then the rows of the one pending revision, asked of the database: task 509)
    assert report.summary["lines"][-2:] == [
        "The database is at revision r02: linting the 1 revision(s) after it "
        "(--since base for all).",
        "rows: 1 validation(s) of the pending statements asked of the database's rows: "
        "0 refused, 1 passes"]
    # r01 built orders.id as a primary key: still known when only r03 is linted.
    assert "DBS107" not in {f.code for f in report.findings}
    assert "DBS005" not in {f.code for f in report.findings}
    # r01 created new_code() VOLATILE: r03's default calling it rewrites the table.
    assert "DBS109" in {f.code for f in report.findings}


@pytest.mark.parametrize("at", ["r01", "r02"])
def test_a_database_migrated_by_the_history_gives_the_findings_of_the_replayed_history(
        tmp_path: Path, database_url: str, at: str) -> None:
    """Started from the database's schema, the pending revisions are linted as when the
    whole history is replayed from empty (`--since`): what the earlier revisions built is
    known from the database instead -- also r01's enum column, which r04 recreates under
    its old name and converts (DBS110)."""
    root = tmp_path / "p"
    write_history(root)
    at_revision(database_url, root / "alembic.ini", at)
    settings = Settings(project_root=root, database_url=database_url, use_cache=False)
    seeded, replayed = commands.lint(settings), commands.lint(settings, since=at)
    assert f"The capture started from the database's schema at revision {at} " \
           "(pg_dump --schema-only, restored without its rows on a throwaway server)." \
           in seeded.summary["lines"]

    def seen(report: Report) -> list[tuple[object, ...]]:
        return sorted((f.code, str(f.location), f.severity.value, f.subject, f.context,
                       f.message.replace("a copy of the database's schema",
                                         "a throwaway server")) for f in report.findings)

    assert seen(seeded) == seen(replayed)
    assert "DBS110" in {f.code for f in seeded.findings if f.location
                        and f.location.path.endswith("r04.py")}


def test_a_database_at_a_revision_without_its_tables_fails_the_next_revision_there(
        tmp_path: Path, database_url: str) -> None:
    """Its version table says r02, but nothing made r01's `orders`: r03 fails on it as it
    would in production, and says so (the history replayed from empty would not)."""
    import psycopg

    root = tmp_path / "p"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r02", "r03")})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('r02')")
    report = commands.lint(Settings(project_root=root, database_url=database_url,
                                    ignore=("DBS115", "DBS211")))
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert failed.subject == "r03"
    assert failed.message.startswith(
        "Revision r03 fails on a copy of the database's schema (ProgrammingError: "
        'relation "orders" does not exist')
    assert failed.help == ("Make the revision run on the database's schema (copied without "
                           "its rows), then lint again.")


def test_a_revision_referencing_a_lookup_row_only_the_database_holds_is_not_refused(
        tmp_path: Path, database_url: str) -> None:
    """notifications-api's 0547 inserts `default_annual_allowance` rows whose
    `organisation_type` references `organisation_types`, a lookup table earlier revisions
    filled: on the copy of the schema (no rows) it failed on the foreign key, and DBS005 as
    an error refused `upgrade` of a revision PostgreSQL applies (task 562). A foreign key
    violation there is what the missing rows give: a warning saying so. Any other failure
    on the copy keeps its error."""
    import psycopg

    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.execute("INSERT INTO allowances (id, kind) VALUES (1, 'central')")
''', "r02": '''
def upgrade():
    op.execute("INSERT INTO nowhere VALUES (1)")
'''})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kinds (name text PRIMARY KEY)")
        conn.execute("INSERT INTO kinds VALUES ('central'), ('local')")
        conn.execute("CREATE TABLE allowances (id int PRIMARY KEY, kind text REFERENCES kinds)")
    report = commands.lint(Settings(project_root=root, database_url=database_url,
                                    select=("DBS005",), use_cache=False))
    by_revision = {f.subject: f for f in report.findings}
    lookup, other = by_revision["r01"], by_revision["r02"]
    assert lookup.severity is Severity.WARNING
    assert lookup.message.startswith(
        "Revision r01 fails on a copy of the database's schema (IntegrityError: insert or "
        'update on table "allowances" violates foreign key constraint "allowances_kind_fkey"), '
        "which holds none of the database's rows: the row its foreign key references may be "
        "one the database holds")
    assert lookup.help == (
        "Check that the database holds the rows the revision's foreign key references (an "
        "upgrade runs each revision in a transaction of its own: a violation rolls it back), "
        "then `--allow DBS005` for this run.")
    assert other.severity is Severity.ERROR
    assert 'relation "nowhere" does not exist' in other.message
    # PostgreSQL applies r01 on the database, whose `kinds` holds the row.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO allowances (id, kind) VALUES (1, 'central')")


def test_a_database_with_the_applications_tables_and_no_revision_runs_every_revision_there(
        tmp_path: Path, database_url: str) -> None:
    """mlflow makes its initial tables with `create_all()` and then runs every revision on
    them: with that database, lint replayed the history from empty instead, where its first
    revisions failed (12 DBS005, `relation "metrics" does not exist`)."""
    import psycopg

    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.add_column("orders", sa.Column("note", sa.Text))
    op.alter_column("orders", "total", type_=sa.BigInteger)
'''})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, total int)")
    report = commands.lint(Settings(project_root=root, database_url=database_url,
                                    select=("DBS005", "DBS110")))
    assert [(f.code, dict(f.context)["Revision"]) for f in report.findings] \
        == [("DBS110", "r01")]
    assert "The capture started from the database's schema at revision base " \
           "(pg_dump --schema-only, restored without its rows on a throwaway server)." \
           in report.summary["lines"]


def test_json_output_is_one_document_though_the_project_prints_and_logs(
        tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r02")})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    proc = subprocess.run([sys.executable, "-m", "dbsafe", "lint", "--format", "json"],
                          cwd=root, capture_output=True, text=True, check=False, env=env)
    document = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert "prints on import" not in proc.stdout + proc.stderr
    assert "logs on import" not in proc.stdout + proc.stderr
    assert {f["code"] for f in document["findings"]} >= {"DBS110"}


@_ONE_HISTORY
def test_since_lints_the_later_revisions_with_what_the_earlier_built(
        history: tuple[Path, Report]) -> None:
    from dbsafe.core import SourceError

    root, _ = history
    settings = Settings(project_root=root, ignore=("DBS115", "DBS210"))
    report = commands.lint(settings, since="r02")
    assert {dict(f.context).get("Revision") for f in report.findings} == {
        "r03", "r04", "r05", "r06", "r07"}
    # r01 created new_code() (VOLATILE): r03's default is still known to rewrite.
    assert "DBS109" in _by_revision(report)["r03"]
    with pytest.raises(SourceError, match="no such revision"):
        commands.lint(settings, since="nope")


@pytest.mark.xdist_group("sqlalchemy14")  # the worker that built the venv
def test_a_project_pinned_to_sqlalchemy_14_is_captured_under_its_own_python(
        sqlalchemy14_python: str, tmp_path: Path) -> None:
    root = tmp_path / "legacy"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r02")})
    migrations = load_migrations(Settings(project_root=root, python=sqlalchemy14_python))
    [r02] = [m for m in migrations if m.revision == "r02"]
    # Same statements and the same observations as under SQLAlchemy 2 (psycopg2 here).
    assert [s.sql for s in r02.statements if not s.generated] == [
        "SELECT count(*) FROM orders",
        "UPDATE orders SET note = '1 of 5' WHERE id = 1",
        "ALTER TABLE orders ALTER COLUMN status TYPE TEXT",
        "ALTER TABLE orders ALTER COLUMN total TYPE BIGINT",
    ]
    observed = [s.observed for s in r02.statements if not s.generated]
    assert all(o is not None for o in observed)
    assert [o.rewritten for o in observed if o is not None] == [
        (), (), (), ("public.orders",)]


@pytest.mark.xdist_group("sqlalchemy13")  # the worker that built the venv
def test_a_project_pinned_to_sqlalchemy_13_is_captured_under_its_own_python(
        sqlalchemy13_python: str, tmp_path: Path) -> None:
    # security_monkey pins SQLAlchemy 1.3, whose connections have no get_transaction():
    # the run failed after the last revision and fell back to offline rendering, which
    # stopped at its first data migration.
    root = tmp_path / "legacy"
    write_history(root, {k: REVISIONS[k] for k in ("r01", "r02")})
    loaded = load(Settings(project_root=root, python=sqlalchemy13_python, use_cache=False))
    assert loaded.lines == ["Linted the SQL each revision ran on a throwaway server."]
    [r02] = [m for m in loaded.migrations if m.revision == "r02"]
    assert [s.sql for s in r02.statements if not s.generated][-1] == (
        "ALTER TABLE orders ALTER COLUMN total TYPE BIGINT")


def test_an_env_py_calling_connect_on_the_handed_in_connection_is_captured(
        tmp_path: Path) -> None:
    # JupyterHub's env.py calls `.connect()` on config.attributes["connection"], as
    # SQLAlchemy 1.x connections allowed; it must run, not fall back to offline rendering.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"]})
    env_py = root / "migrations" / "env.py"
    plain = "    else:\n        _run(connection)\n"
    assert plain in env_py.read_text()
    env_py.write_text(env_py.read_text().replace(plain, (
        "    else:\n"
        "        with connection.connect() as branch:\n"
        "            _run(branch)\n")))
    loaded = load(Settings(project_root=root, use_cache=False))
    assert loaded.lines == ["Linted the SQL each revision ran on a throwaway server."]
    assert [m.revision for m in loaded.migrations] == ["r01"]


@_ONE_HISTORY
def test_a_cached_run_reads_no_revision_python_for_dbs210(
        history: tuple[Path, Report], monkeypatch: pytest.MonkeyPatch) -> None:
    from dbsafe.lint import history as lint_history
    from dbsafe.migrate import revisions

    root, _ = history
    monkeypatch.setattr(lint_history, "_downgrades", {})

    def parse(path: Path) -> None:
        raise AssertionError(f"{path} parsed again")

    monkeypatch.setattr(revisions, "find_downgrade", parse)
    loaded = load(Settings(project_root=root))
    assert loaded.lines[0].endswith(", cached.")
    # Every revision of this history has an empty downgrade(): known from the cache.
    assert {lint_history.downgrade_of(m.file).kind for m in loaded.migrations
            if m.file is not None} == {"empty"}


def test_locks_an_earlier_revision_of_the_transaction_took_confirm_nothing(
        tmp_path: Path) -> None:
    # env.py runs every pending revision in one transaction (alembic's default): r01's locks
    # on the table it created were still held when r02 ran, and were shown as confirming
    # r02's index build ("PostgreSQL held an ACCESS EXCLUSIVE lock on `orders`"). Production,
    # where r01 ran long ago, does not hold them.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("total", sa.Integer))
''', "r02": '''
def upgrade():
    op.create_index("ix_orders_total", "orders", ["total"])
'''})
    report = commands.lint(Settings(project_root=root, select=("DBS101",)))
    [index] = report.findings
    assert "Confirmed" not in dict(index.context)
    [row] = [r for r in lock_report(load_migrations(Settings(project_root=root)))
             if r.location.path.endswith("r02.py")]
    assert (row.mode, row.source) == ("SHARE", "predicted")
    assert row.note == ("ACCESS EXCLUSIVE already held since an earlier revision of the "
                        "transaction (pg_locks)")


def test_a_weaker_lock_a_statement_adds_does_not_hide_the_stronger_one_held_since(
        tmp_path: Path) -> None:
    # Superset's 2591d77e9831 adds a foreign key to `ab_user`, which 4e6a06bad7a8's tables
    # had already locked SHARE ROW EXCLUSIVE in the same transaction: pg_locks showed only
    # the ROW SHARE the key's check added, and `--locks` said ROW SHARE on `ab_user` (no
    # write waits), where the revision alone takes SHARE ROW EXCLUSIVE (writes wait).
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    with op.get_context().autocommit_block():  # committed, as Flask-AppBuilder's ab_user is
        op.execute("CREATE TABLE users (id int PRIMARY KEY)")
        op.execute("CREATE TABLE tabs (id int PRIMARY KEY, user_id int)")
    op.create_table("clusters", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id")))
''', "r02": '''
def upgrade():
    op.create_foreign_key("tabs_user", "tabs", "users", ["user_id"], ["id"])
'''})
    rows = {r.relation: r for r in lock_report(load_migrations(Settings(project_root=root)))
            if r.location.path.endswith("r02.py")}
    assert (rows["users"].mode, rows["users"].source) == ("SHARE ROW EXCLUSIVE", "predicted")
    assert rows["users"].note == ("SHARE ROW EXCLUSIVE already held since an earlier "
                                  "revision of the transaction (pg_locks)")


def test_an_env_py_failing_before_any_revision_is_named_with_its_line(tmp_path: Path) -> None:
    # flask-migrate's env.py reads `current_app` at import: outside the application's
    # context it fails before any revision runs, on the throwaway server and offline. The
    # error named `alembic.ini/env.py`, a path that does not exist, and only the offline
    # attempt.
    from dbsafe.core import SourceError

    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"]})
    env = root / "migrations" / "env.py"
    env.write_text('raise RuntimeError("Working outside of application context.")\n'
                   + env.read_text())
    with pytest.raises(SourceError) as raised:
        commands.lint(Settings(project_root=root))
    message = str(raised.value)
    assert f"{env.resolve()}:1: RuntimeError: Working outside of application context." \
        in message
    assert "alembic.ini/env.py" not in message
    assert "(tried because it could not run on a throwaway server: " in message


def test_an_alembic_ini_alembic_refuses_is_named(tmp_path: Path) -> None:
    # polar's alembic.ini says `version_path_separator = os  # Use os.pathsep. ...`: alembic
    # reads the comment as part of the value and refuses it once `version_locations` is set.
    # No line of the project raised it (alembic did, reading its configuration, before
    # env.py ran), and the reason named `alembic.ini/env.py`, a file that does not exist.
    from dbsafe.core import SourceError

    root = tmp_path / "p"
    ini = write_history(root, {"r01": REVISIONS["r01"]})
    ini.write_text(ini.read_text().replace("[alembic]\n", (
        "[alembic]\nversion_locations = %(here)s/migrations/versions\n"
        "version_path_separator = os  # Use os.pathsep.\n")))
    with pytest.raises(SourceError) as raised:
        commands.lint(Settings(project_root=root))
    message = str(raised.value)
    assert f"{ini.resolve()}: ValueError: 'os  # Use os.pathsep.' is not a valid value" \
        in message
    assert "alembic.ini/env.py" not in message


def test_a_batch_alter_table_block_is_attributed_to_its_batch_op_lines(
        tmp_path: Path) -> None:
    # batch_alter_table() runs its operations when the `with` block ends: every statement
    # was attributed to the `with` line (mealie: "DBS114 ... at line 82 while `shopping_lists`
    # is still ACCESS EXCLUSIVE locked from line 82"), and an ignore comment on a
    # batch_op line did nothing.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": '''
def upgrade():
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer))
        batch_op.create_index("ix_orders_user_id", ["user_id"])
    op.execute("SELECT 1")
'''})
    [r02] = [m for m in load_migrations(Settings(project_root=root)) if m.revision == "r02"]
    assert [(s.location.line, s.sql.split(" (")[0]) for s in r02.statements
            if not s.generated] == [
        (18, "ALTER TABLE orders ADD COLUMN user_id INTEGER"),
        (19, "CREATE INDEX ix_orders_user_id ON orders"),
        (20, "SELECT 1"),
    ]


def test_a_revision_failing_as_alembic_loads_it_is_named_with_its_line(tmp_path: Path) -> None:
    # mealie's revisions import its settings, which refuse an incomplete environment: the
    # error was raised while alembic loaded the revision files, before it knew them, and
    # was blamed on `alembic.ini/env.py`.
    from dbsafe.core import SourceError

    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": REVISIONS["r07"]})
    r02 = root / "migrations" / "versions" / "r02.py"
    r02.write_text('raise ValueError("1 validation error for AppSettings")\n' + r02.read_text())
    with pytest.raises(SourceError) as raised:
        commands.lint(Settings(project_root=root))
    assert f"{r02.resolve()}:1: ValueError: 1 validation error for AppSettings" in \
        str(raised.value)


def test_a_foreign_key_dropped_from_an_earlier_revisions_table_predicts_its_referenced_lock(
        tmp_path: Path) -> None:
    # Dropping `awards_team_id_fkey` (PostgreSQL's name for r01's unnamed key) takes ACCESS
    # EXCLUSIVE on `teams` too: with a transaction per revision PostgreSQL showed it and
    # DBS119 reported it as unpredicted; in one transaction for both nothing did.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("teams", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table("awards", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id")))
''', "r02": '''
def upgrade():
    op.drop_constraint("awards_team_id_fkey", "awards", type_="foreignkey")
'''})
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "target_metadata=target_metadata)",
        "target_metadata=target_metadata, transaction_per_migration=True)"))
    report = commands.lint(Settings(project_root=root, select=("DBS119",)))
    assert report.findings == ()
    rows = [(r.relation, r.mode, r.source)
            for r in lock_report(load_migrations(Settings(project_root=root)))
            if r.location.path.endswith("r02.py")]
    assert rows == [("awards", "ACCESS EXCLUSIVE", "observed"),
                    ("teams", "ACCESS EXCLUSIVE", "observed")]


def test_a_lock_a_trigger_takes_on_another_table_is_reported_as_unpredicted(
        tmp_path: Path) -> None:
    # The rule's own case: an INSERT into `orders` whose trigger locks `audit_log` takes a
    # lock that blocks writes to a table the INSERT never names. Every other DBS119 test
    # checks that it stays quiet, so a rule that never fired passed them all.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table("audit_log", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("CREATE FUNCTION lock_audit() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE; RETURN NEW; END $$")
    op.execute("CREATE TRIGGER orders_audit AFTER INSERT ON orders "
               "FOR EACH ROW EXECUTE FUNCTION lock_audit()")
''', "r02": '''
def upgrade():
    op.execute("INSERT INTO orders (id) VALUES (1)")
'''})
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "target_metadata=target_metadata)",
        "target_metadata=target_metadata, transaction_per_migration=True)"))
    report = commands.lint(Settings(project_root=root, select=("DBS119",)))
    assert [(f.code, f.subject, dict(f.context).get("Revision")) for f in report.findings] == [
        ("DBS119", "audit_log", "r02")]
    assert "SHARE ROW EXCLUSIVE lock on `audit_log`" in report.findings[0].message


def test_the_tables_an_extension_makes_are_no_unpredicted_lock(tmp_path: Path) -> None:
    # `CREATE EXTENSION postgis` makes `spatial_ref_sys`, pgmq (dbsafe's stand-in on the
    # embedded server) `pgmq.meta`: the script's CREATE TABLE takes ACCESS EXCLUSIVE on a
    # table nobody else can see yet. DBS119 warned of it (task 535, on a dev server with
    # PostGIS). A lock a later revision's trigger takes stays reported: the test above.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("CREATE EXTENSION pgmq")
'''})
    report = commands.lint(Settings(project_root=root, select=("DBS119",)))
    assert report.findings == ()
    rows = {(r.relation, r.mode) for r in lock_report(load_migrations(Settings(project_root=root)))
            if r.source == "observed"}
    assert ("pgmq.meta", "ACCESS EXCLUSIVE") in rows  # (PostgreSQL took it: seen, not warned)


def test_timeouts_env_py_sets_on_its_connection_hold_for_every_revision(tmp_path: Path) -> None:
    # pypi/warehouse's env.py runs `SET statement_timeout` and `SET lock_timeout` on its
    # connection before alembic runs the revisions: 92 DBS115 said they were missing. A
    # timeout a revision sets ends with its session and holds for none of the others.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("teams", sa.Column("id", sa.Integer, primary_key=True))
''', "r02": '''
def upgrade():
    op.add_column("teams", sa.Column("name", sa.Text))
'''})
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "def _run(connection):\n",
        "def _run(connection):\n"
        "    connection.execute(sa.text('SET statement_timeout = 5000'))\n"
        "    connection.execute(sa.text('SET lock_timeout = 4000'))\n").replace(
        "from alembic import context", "import sqlalchemy as sa\nfrom alembic import context"))
    assert commands.lint(Settings(project_root=root, select=("DBS115",))).findings == ()

    env.write_text(env.read_text().replace("SET lock_timeout = 4000", "SET lock_timeout = 0"))
    found = commands.lint(Settings(project_root=root, select=("DBS115",))).findings
    assert [(f.location.path if f.location else None, f.message) for f in found] == [
        ("migrations/versions/r02.py",
         "ACCESS EXCLUSIVE lock on `teams` is requested without `lock_timeout` set; while it "
         "waits, every query on `teams` queues behind it (`dbsafe upgrade` sets both timeouts "
         "for you).")]


def test_locks_on_a_dropped_indexs_table_and_a_renamed_table_are_predicted(
        tmp_path: Path) -> None:
    # pypi/warehouse: `DROP INDEX journals_latest_releases` takes ACCESS EXCLUSIVE on
    # `journals`, and `ALTER TABLE packages RENAME TO projects` shows in pg_locks under the
    # new name; both are the lock the lock table predicts (DBS103 says so), and DBS119
    # reported 20 of them as unpredicted.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("journals", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.Text))
    op.create_index("journals_name_idx", "journals", ["name"])
    op.create_table("packages", sa.Column("name", sa.Text, primary_key=True))
''', "r02": '''
def upgrade():
    op.drop_index("journals_name_idx")
    op.rename_table("packages", "projects")
'''})
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "target_metadata=target_metadata)",
        "target_metadata=target_metadata, transaction_per_migration=True)"))
    report = commands.lint(Settings(project_root=root, select=("DBS119", "DBS103")))
    assert [f.code for f in report.findings] == ["DBS103"]
    rows = [(r.relation, r.mode, r.source)
            for r in lock_report(load_migrations(Settings(project_root=root)))
            if r.location.path.endswith("r02.py")]
    # --locks: neither is "not predicted"; the renamed table's row is observed, and so is
    # the dropped index's table's, a row of its own (airflow's plan named only the index).
    assert rows == [("journals_name_idx", "ACCESS EXCLUSIVE", "observed"),
                    ("journals", "ACCESS EXCLUSIVE", "observed"),
                    ("packages", "ACCESS EXCLUSIVE", "observed")]


def test_a_project_with_asyncpg_as_its_only_driver_is_captured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prefect's servers install asyncpg and no synchronous driver: dbsafe stopped with "no
    # PostgreSQL driver (psycopg, psycopg2, asyncpg or pg8000) is importable", though asyncpg
    # was. env.py builds its own async engine from sqlalchemy.url; the sandbox points it at
    # the throwaway.
    from tests.migrate.projects import ENV_PY

    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": REVISIONS["r07"]})
    (root / "migrations" / "env.py").write_text(ENV_PY["async_engine"])
    blocker = tmp_path / "site"
    blocker.mkdir()
    # The project's interpreter without psycopg, psycopg2 and pg8000.
    (blocker / "sitecustomize.py").write_text(
        "import sys\nfor name in ('psycopg', 'psycopg2', 'pg8000'):\n"
        "    sys.modules[name] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(blocker))
    settings = Settings(project_root=root, select=("DBS101", "DBS005"))
    assert load(settings).lines == ["Linted the SQL each revision ran on a throwaway server."]
    report = commands.lint(settings)
    assert [(f.code, f.location.path if f.location else None) for f in report.findings] == [
        ("DBS101", "migrations/versions/r02.py")]


def test_an_env_py_failing_only_on_the_throwaway_is_named_with_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prefect's env.py runs its migrations through a helper that needs an AnyIO worker
    # thread; the reason lint fell back to offline rendering named neither file nor line.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r07"].replace("create_index", "create_table")
                         .replace('"ix_orders_total", "orders", ["total"]',
                                  '"orders", sa.Column("id", sa.Integer)')})
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "def _run(connection):\n",
        "def _run(connection):\n    raise RuntimeError('Not running inside a worker thread')\n"))
    # The outermost line of env.py on the stack: its module-level call.
    lines = env.read_text().splitlines()
    line = len(lines) - lines[::-1].index("    run_migrations_online()")
    monkeypatch.chdir(root)
    assert load(Settings(project_root=root)).lines == [
        "Linted revisions rendered offline (alembic upgrade --sql) (could not run on a "
        f"throwaway server: migrations/env.py:{line}: RuntimeError: Not running inside a "
        "worker thread)."]



def test_an_env_py_outside_the_working_directory_is_named_with_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # indico's env.py reads flask's `current_app` at import, outside the app context its own
    # CLI provides; with `script_location` naming its migrations folder elsewhere (an
    # installed package, a checkout next to the project) the reason said "alembic.ini/env.py"
    # with no line: only frames under the working directory counted as the project's.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r07"]})
    vendor = tmp_path / "vendor" / "migrations"
    vendor.parent.mkdir()
    (root / "migrations").rename(vendor)
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("%(here)s/migrations", str(vendor)))
    env = vendor / "env.py"
    env.write_text("raise RuntimeError('Working outside of application context.')\n"
                   + env.read_text())
    monkeypatch.chdir(root)
    with pytest.raises(DbsafeError) as raised:
        load(Settings(project_root=root))
    assert f"{env}:1: RuntimeError: Working outside of application context." in \
        str(raised.value)
    assert "alembic.ini/env.py" not in str(raised.value)

def test_a_revision_failing_on_import_in_a_linked_migrations_folder_is_named_with_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # fedora-copr's revisions import its application (`from coprs.models import ...`); with
    # the migrations folder linked into the project, the revision alembic was loading
    # resolved to outside the working directory, and the reason named alembic.ini instead.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"]})
    elsewhere = tmp_path / "checkout" / "migrations"
    elsewhere.parent.mkdir()
    (root / "migrations").rename(elsewhere)
    (root / "migrations").symlink_to(elsewhere)
    revision = elsewhere / "versions" / "r01.py"
    revision.write_text("from no_such_app.models import Thing\n" + revision.read_text())
    monkeypatch.chdir(root)
    with pytest.raises(DbsafeError) as raised:
        load(Settings(project_root=root, use_cache=False))
    assert f"{revision}:1: ModuleNotFoundError: No module named 'no_such_app'" in \
        str(raised.value)
    assert "alembic.ini:" not in str(raised.value)


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("short_self_wait_patience")
def test_a_statement_waiting_for_the_migrations_own_idle_session_is_reported_not_hung(
        tmp_path: Path) -> None:
    # apache-airflow 2.10: revision 0078 asks FAB's security manager for roles through the
    # application's own session (a second connection) and, on an empty database, never
    # commits; 0118's `ALTER TABLE ab_permission` then waits for that transaction's ACCESS
    # SHARE forever. `alembic upgrade` hangs there, and `dbsafe lint` hung with it.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("roles", sa.Column("id", sa.Integer, primary_key=True))
''', "r02": '''
from sqlalchemy.orm import Session

SESSIONS = []


def upgrade():
    session = Session(bind=op.get_bind().engine)  # another connection, never committed
    SESSIONS.append(session)
    session.execute(sa.text("SELECT count(*) FROM roles")).scalar()
''', "r03": '''
def upgrade():
    op.add_column("roles", sa.Column("note", sa.Text))
    op.create_index("ix_roles_note", "roles", ["note"])
''', "r04": '''
def upgrade():
    op.drop_column("roles", "note")  # DBS211 builds the schema at head: it ran r03 too
'''})
    (root / "app.py").write_text('QUERY = "SELECT note FROM roles"\n')
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "target_metadata=target_metadata)",
        "target_metadata=target_metadata, transaction_per_migration=True)"))
    report = commands.lint(Settings(project_root=root))
    assert [(f.code, f.location.path if f.location else None,
             f.location.line if f.location else None, f.message)
            for f in report.findings if f.code in ("DBS132", "DBS005")] == [
        ("DBS132", "migrations/versions/r03.py", 17,
         "This statement waited for an ACCESS EXCLUSIVE lock on `roles` held by another "
         "connection of the migration, left idle in its transaction by "
         "migrations/versions/r02.py:24; `alembic upgrade` waits here forever (dbsafe "
         "ended that connection to go on).")]
    # The revision ran on, so its later statements were linted too, and the schema at
    # head was built for DBS211.
    assert [(f.code, f.location.path if f.location else None,
             f.location.line if f.location else None) for f in report.findings
            if f.code in ("DBS101", "DBS211")] == [
        ("DBS101", "migrations/versions/r03.py", 18),
        ("DBS211", "migrations/versions/r04.py", 17)]


def test_an_attached_partition_is_flagged_where_postgresql_scanned_it(tmp_path: Path) -> None:
    """DBS130 from the capture: whether ATTACH PARTITION read the table is what PostgreSQL
    did on the throwaway server (pg_stat_get_xact_numscans counts the scan of an empty
    table too), not whether the table has some validated CHECK constraint. A CHECK that
    names the key but does not imply the bounds (`recent`) was trusted; one added by SQL
    built at run time (`dynamic`), which lint cannot read, does imply them."""
    root = tmp_path / "p"
    years = {"bare": 2021, "bounded": 2022, "recent": 2023, "positive": 2024, "dynamic": 2025}
    write_history(root, {"r01": f'''
def upgrade():
    op.execute("CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at)")
    for name in {list(years)}:
        op.execute(f"CREATE TABLE {{name}} (id bigint, at date NOT NULL)")
    op.execute("ALTER TABLE bounded ADD CONSTRAINT b "
               "CHECK (at >= '2022-01-01' AND at < '2023-01-01')")
    op.execute("ALTER TABLE recent ADD CONSTRAINT b CHECK (at >= '2023-01-01')")
    op.execute("ALTER TABLE positive ADD CONSTRAINT b CHECK (id > 0)")
    op.execute("DO $$ BEGIN EXECUTE 'ALTER TABLE dynamic ADD CONSTRAINT b ' || "
               "'CHECK (at >= ''2025-01-01'' AND at < ''2026-01-01'')'; END $$")
''', "r02": f'''
def upgrade():
    for name, year in {years}.items():
        op.execute(f"ALTER TABLE events ATTACH PARTITION {{name}} "
                   f"FOR VALUES FROM ('{{year}}-01-01') TO ('{{year + 1}}-01-01')")
'''})
    report = commands.lint(Settings(project_root=root, select=("DBS130", "DBS005")))
    found = {f.subject: f for f in report.findings}
    assert set(found) == {"bare", "recent", "positive"}
    for finding in found.values():
        assert finding.severity.value == "error"
        assert ("Confirmed", f"PostgreSQL read `{finding.subject}` while attaching it on a "
                "throwaway server (pg_stat_get_xact_numscans)") in finding.context
    assert "no CHECK constraint of it names the partition key (`at`)" in \
        found["positive"].message
    assert "PostgreSQL did on a throwaway server" in found["recent"].message


def test_revisions_importing_what_env_py_sets_up_are_linted(tmp_path: Path) -> None:
    # Apache Superset: a revision imports the application's models, which need the Flask
    # application env.py creates (`App not initialized yet. Please call init_app first`).
    # alembic runs env.py before it imports the revisions; dbsafe listed them first, so
    # lint, verify-reversible and upgrade ended in exit 2 where `alembic upgrade` works.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": '''
from app_registry import model

TABLE = model("orders")


def upgrade():
    op.create_index("ix_orders_total", TABLE, ["total"])
'''})
    (root / "app_registry.py").write_text('''
APP = []


def init_app():
    APP.append("clinic")


def model(name):
    if not APP:
        raise RuntimeError("App not initialized yet. Please call init_app first")
    return name
''')
    env = root / "migrations" / "env.py"
    env.write_text("import app_registry\napp_registry.init_app()\n" + env.read_text())
    report = commands.lint(Settings(project_root=root, select=("DBS101", "DBS005")))
    assert [(f.code, f.location.path if f.location else None) for f in report.findings] == [
        ("DBS101", "migrations/versions/r02.py")]


def test_a_migrations_folder_that_is_a_package_named_alembic_is_linted(tmp_path: Path) -> None:
    # Langflow keeps its revisions in `alembic/` beside alembic.ini, with an __init__.py
    # (its env.py imports `langflow.alembic.expand_compat`). The `alembic` command has
    # loaded alembic before the working directory is on the path; dbsafe's child put it
    # first, so `from alembic import command` found the project's folder: exit 2.
    root = tmp_path / "p"
    write_history(root, {"r01": REVISIONS["r01"], "r02": REVISIONS["r07"]})
    (root / "migrations").rename(root / "alembic")
    (root / "alembic" / "__init__.py").write_text("")
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("%(here)s/migrations", "%(here)s/alembic"))
    report = commands.lint(Settings(project_root=root, select=("DBS101", "DBS005")))
    assert [(f.code, f.location.path if f.location else None) for f in report.findings] == [
        ("DBS101", "alembic/versions/r02.py")]



def test_a_revision_iterating_a_set_is_captured_in_the_same_order_every_run(
        tmp_path: Path) -> None:
    # Langflow's 1cb603706752 batch rebuild sends its statements in set order, which
    # Python's hash seed changes from one process to the next: one DBS114 quoted another
    # statement on each run. The child's seed is fixed (unless the user sets one).
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    for name in {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}:
        op.execute(f"CREATE TABLE {name} (id int)")
'''})
    orders = set()
    for _ in range(3):
        (migration,) = load_migrations(Settings(project_root=root, use_cache=False))
        orders.add(tuple(s.sql for s in migration.statements if not s.generated))
    assert len(orders) == 1


def test_alembic_autocommit_hands_env_py_an_autocommit_connection(tmp_path: Path) -> None:
    # dagster's storages hand env.py an AUTOCOMMIT connection in config.attributes, and its
    # revisions build indexes CONCURRENTLY with no autocommit_block(): replayed in one
    # transaction they failed (25001, DBS005 + DBS102 on 6 of 38 revisions) and two
    # statements were said to hold locks until COMMIT (DBS114) that dagster commits at once.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("teams", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table("members", sa.Column("id", sa.Integer, primary_key=True))
''', "r02": '''
def upgrade():
    op.add_column("teams", sa.Column("name", sa.Text))
    op.add_column("members", sa.Column("name", sa.Text))
''', "r03": '''
def upgrade():
    op.create_index("teams_name", "teams", ["name"], postgresql_concurrently=True)
    op.add_column("teams", sa.Column("code", sa.Text))
'''})
    codes = ("DBS005", "DBS102", "DBS114")

    as_alembic_runs_it = commands.lint(Settings(project_root=root, select=codes))
    assert sorted((f.code, dict(f.context)["Revision"]) for f in as_alembic_runs_it.findings) \
        == [("DBS005", "r03"), ("DBS102", "r03"), ("DBS114", "r02")]

    as_the_application_runs_it = commands.lint(Settings(project_root=root, select=codes,
                                                        alembic_autocommit=True))
    assert as_the_application_runs_it.findings == ()
    # Every statement of r03 ran and was linted, the one after the index too.
    loaded = load(Settings(project_root=root, alembic_autocommit=True))
    assert [s.sql for m in loaded.migrations if m.revision == "r03" for s in m.statements
            if not s.generated] \
        == ["CREATE INDEX CONCURRENTLY teams_name ON teams (name)",
            "ALTER TABLE teams ADD COLUMN code TEXT"]


def test_a_foreign_key_of_a_revision_cut_short_by_its_failure_is_not_called_unindexed(
        tmp_path: Path) -> None:
    # lemur's 412b22cb656a creates `roles_authorities` with a key to `authorities` (which
    # its lemur-init baseline, not a revision, creates) and indexes the key right after; on
    # the throwaway it fails at the CREATE TABLE, and the rest cannot be rendered offline
    # (it reads the database): DBS117 said the key had no index, though the index it did
    # not reach covers it. What the revision would have run is unknown: no finding.
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("roles", sa.Column("id", sa.Integer, primary_key=True))
''', "r02": '''
def upgrade():
    op.create_table("roles_authorities",
                    sa.Column("authority_id", sa.Integer, sa.ForeignKey("authorities.id")),
                    sa.Column("role_id", sa.Integer, sa.ForeignKey("roles.id")))
    op.create_index("roles_authorities_ix", "roles_authorities",
                    ["authority_id", "role_id"], unique=True)
    op.create_index("roles_authorities_role", "roles_authorities", ["role_id"])
    for (n,) in op.get_bind().execute(sa.text("SELECT count(*) FROM roles")):
        print(n)
''', "r03": '''
def upgrade():
    op.create_table("audit", sa.Column("role_id", sa.Integer, sa.ForeignKey("roles.id")))
'''})
    report = commands.lint(Settings(project_root=root, use_cache=False,
                                    select=("DBS005", "DBS117")))
    assert {(f.code, f.subject) for f in report.findings} == {
        ("DBS005", "r02"), ("DBS117", "audit.role_id")}
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert "what it would run after that was not linted" in failed.message


def test_a_foreign_key_of_a_revision_failing_at_its_last_statement_is_still_checked(
        tmp_path: Path) -> None:
    # lemur's e3691fc396e9 is one CREATE TABLE whose keys are unindexed, failing on the
    # throwaway as 412b22cb656a does; rendered offline it runs nothing more: not cut short.
    # A later revision reading the database (r03) stops offline rendering there: the failed
    # revisions before it are rendered on their own (lemur's 33de094da890, 4c50b903d1ae).
    root = tmp_path / "p"
    write_history(root, {"r01": '''
def upgrade():
    op.create_table("roles", sa.Column("id", sa.Integer, primary_key=True))
''', "r02": '''
def upgrade():
    op.create_table("logs", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("certificate_id", sa.Integer, sa.ForeignKey("certificates.id")))
''', "r03": '''
def upgrade():
    for (n,) in op.get_bind().execute(sa.text("SELECT count(*) FROM roles")):
        op.execute(f"COMMENT ON TABLE roles IS 'had {n}'")
'''})
    report = commands.lint(Settings(project_root=root, use_cache=False,
                                    select=("DBS005", "DBS117")))
    assert {(f.code, f.subject) for f in report.findings} == {
        ("DBS005", "r02"), ("DBS117", "logs.certificate_id")}
    [failed] = [f for f in report.findings if f.code == "DBS005"]
    assert "it would run nothing after that" in failed.message


# packit's d90948124e46 mocks `sqlalchemy.testing.config.requirements` with flexmock when it
# is imported; a second import in the same process makes it a method, and its models then
# fail ("'function' object has no attribute 'foreign_key_ddl'"). This revision fails the
# same way when imported twice in one process, as `alembic upgrade` never imports it.
_IMPORTED_ONCE = '''
_marker = logging.getLogger("dbsafe-test-revision-imported")
if getattr(_marker, "imported", False):
    raise RuntimeError("r02 imported a second time in this process")
_marker.imported = True


def upgrade():
    op.create_index("ix_orders_total", "orders", ["total"])
'''


def test_a_revision_whose_import_cannot_be_repeated_runs_as_under_alembic(
        tmp_path: Path, database_url: str) -> None:
    """Each revision file is imported once per process, as `alembic upgrade` imports it:
    dbsafe listed the revisions with one ScriptDirectory and alembic's command built
    another, importing every file a second time (packit's 74 revisions after
    d90948124e46 were not linted: DBS005)."""
    from tests.migrate.projects import sqlalchemy_url

    revisions = {"r01": REVISIONS["r01"], "r02": _IMPORTED_ONCE}
    plain = tmp_path / "plain"
    ini = write_history(plain, revisions)
    ini.write_text(ALEMBIC_INI.format(url=sqlalchemy_url(database_url, "psycopg")))
    done = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
                          capture_output=True, text=True, cwd=plain, check=False)
    assert done.returncode == 0, done.stderr  # alembic itself runs it

    root = tmp_path / "p"
    write_history(root, revisions)
    report = commands.lint(Settings(project_root=root, ignore=("DBS115", "DBS210")))
    found = {(f.code, f.subject) for f in report.findings
             if dict(f.context).get("Revision") == "r02"}
    assert ("DBS101", "orders") in found, report.findings
    assert not [f for f in report.findings if f.code == "DBS005"], report.findings


# hypothesis/lms ends alembic's transaction with a raw COMMIT before each CONCURRENTLY
# index. psycopg2 then sends no BEGIN: every later revision of the same `alembic upgrade`
# runs outside a transaction. Deployed on its own, each runs in alembic's.
_RAW_COMMIT = {
    "r01": '''
def upgrade():
    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("a", sa.Integer), sa.Column("b", sa.Integer))
    op.execute("COMMIT")
    op.create_index("ix_t_a", "t", ["a"], postgresql_concurrently=True)
''',
    # No autocommit_block(): fails with 25001 as the first pending revision.
    "r02": '''
def upgrade():
    op.add_column("t", sa.Column("c", sa.Integer))
    op.create_index("ix_t_c", "t", ["c"], postgresql_concurrently=True)
''',
    "r03": '''
def upgrade():
    op.execute("COMMIT")
    op.create_index("ix_t_b", "t", ["b"], postgresql_concurrently=True)
''',
    "r04": '''
def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_t_ba", "t", ["b", "a"], postgresql_concurrently=True)
    op.add_column("t", sa.Column("d", sa.Integer))
''',
    # Back in a transaction after its own BEGIN.
    "r05": '''
def upgrade():
    op.execute("COMMIT")
    op.create_index("ix_t_ab", "t", ["a", "b"], postgresql_concurrently=True)
    op.execute("BEGIN")
    op.add_column("t", sa.Column("e", sa.Integer))
''',
}


def test_a_revision_run_after_an_earlier_ones_raw_commit_is_linted_as_run_on_its_own(
        tmp_path: Path, database_url: str) -> None:
    from dbsafe.lint.engine import parse_migration
    from tests.migrate.projects import sqlalchemy_url

    # PostgreSQL 18, each revision the first pending one of an `alembic upgrade`: r02
    # fails with 25001, the others run.
    plain = tmp_path / "plain"
    ini = write_history(plain, _RAW_COMMIT)
    ini.write_text(ALEMBIC_INI.format(url=sqlalchemy_url(database_url, "psycopg2")))

    def alembic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), *args],
                              cwd=plain, capture_output=True, text=True, check=False)

    assert alembic("upgrade", "r01").returncode == 0
    failed = alembic("upgrade", "r02")
    assert failed.returncode != 0
    assert "ActiveSqlTransaction" in failed.stderr  # 25001
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in failed.stderr
    assert alembic("stamp", "r02").returncode == 0
    for revision in ("r03", "r04", "r05"):
        done = alembic("upgrade", revision)
        assert done.returncode == 0, done.stderr

    # The capture runs them all in one `alembic upgrade` with psycopg2, as lms does.
    root = tmp_path / "p"
    write_history(root, _RAW_COMMIT).write_text(
        ALEMBIC_INI.format(url="postgresql+psycopg2://user:pass@localhost/dbname"))
    settings = Settings(project_root=root)  # its cache, new in tmp_path: one capture for both
    report = commands.lint(dataclasses.replace(settings, select=("DBS005", "DBS102", "DBS114")))
    assert sorted((f.code, dict(f.context)["Revision"], f.location.line if f.location else 0)
                  for f in report.findings) == [("DBS102", "r02", 18), ("DBS114", "r02", 18)]
    # Each statement in the state it runs in, deployed first; r01's, r03's and r05's after
    # their COMMIT outside a transaction, as they ran.
    states = {m.revision: [(s.sql.split()[0], s.in_transaction) for s in parse_migration(m)
                           if not s.generated]
              for m in load_migrations(settings)}
    assert states == {
        "r01": [("CREATE", True), ("COMMIT", True), ("CREATE", False)],
        "r02": [("ALTER", True), ("CREATE", True)],
        "r03": [("COMMIT", True), ("CREATE", False)],
        "r04": [("CREATE", False), ("ALTER", True)],
        "r05": [("COMMIT", True), ("CREATE", False), ("BEGIN", True), ("ALTER", True)],
    }

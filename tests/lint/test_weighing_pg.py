"""`dbsafe lint --database-url` weighs locking findings by the size of their table: each
carries it, and on a table smaller than `large-table` an error is lowered to a warning --
whatever the finding's subject names (the table, one of its columns, qualified or not)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import Settings
from dbsafe.core import Finding

pytestmark = pytest.mark.db

SCHEMA = """
CREATE TABLE accounts (id int PRIMARY KEY, email varchar, plan text);
INSERT INTO accounts SELECT g, 'a' || g, 'free' FROM generate_series(1, 100) g;
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, total int);
INSERT INTO billing.invoices SELECT g, g FROM generate_series(1, 100) g;
ANALYZE accounts, billing.invoices;
"""

CHANGE = """
ALTER TABLE accounts ALTER COLUMN email TYPE varchar(50);
ALTER TABLE accounts ALTER COLUMN plan SET NOT NULL;
CREATE INDEX ix_accounts_plan ON accounts (plan);
ALTER TABLE billing.invoices ALTER COLUMN total TYPE bigint;
"""

EXPECTED = {("DBS110", "accounts.email"), ("DBS107", "accounts.plan"),
            ("DBS101", "accounts"), ("DBS110", "billing.invoices.total")}


def _lint(tmp_path: Path, url: str, **options: object) -> list[Finding]:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "002_change.sql").write_text(CHANGE)
    settings = Settings(project_root=tmp_path, database_url=url,
                        ignore=("DBS114", "DBS115"), **options)  # type: ignore[arg-type]
    return [f for f in commands.lint(settings, [folder]).findings
            if f.code in ("DBS101", "DBS107", "DBS110")]


def test_locking_findings_on_small_tables_are_warnings_with_their_size(
        tmp_path: Path, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    findings = _lint(tmp_path, database_url)
    assert {(f.code, f.subject) for f in findings} == EXPECTED
    for finding in findings:
        assert finding.severity.value == "warning", finding
        size = dict(finding.context).get("Table size")
        assert size is not None and "~100 rows" in size, finding
    # Every table large: errors again, still with their size.
    large = _lint(tmp_path, database_url, large_table=0)
    assert {(f.code, f.severity.value) for f in large} == {
        (code, "error") for code, _ in EXPECTED}
    assert all("Table size" in dict(f.context) for f in large)


def test_a_table_the_database_does_not_have_yet_weighs_as_empty(
        tmp_path: Path, database_url: str) -> None:
    # `dbsafe upgrade` of a new database (or of revisions that create a table and change it
    # later): the table is empty, and unknown to the application, when the change runs.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text(
        "CREATE TABLE receipts (id int PRIMARY KEY, total int);\n"
        "CREATE TABLE invoices (id int PRIMARY KEY, total int);\n")
    (folder / "002_change.sql").write_text(
        "ALTER TABLE receipts ALTER COLUMN total TYPE bigint;\n"
        "ALTER TABLE invoices ALTER COLUMN total TYPE bigint;\n"
        "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(50);\n")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        ignore=("DBS114", "DBS115", "DBS209"))
    findings = {f.subject: f for f in commands.lint(settings, [folder]).findings}
    assert set(findings) == {"receipts.total", "invoices.total", "accounts.email"}
    new = findings["receipts.total"]
    assert (new.code, new.severity.value) == ("DBS110", "note")
    assert dict(new.context)["Table size"] == "none yet: a migration linted here creates it"
    # A table the database has stays weighed by its size (every table is large here) ...
    assert findings["accounts.email"].severity.value == "error"
    # ... and so does a name the database has in another schema (billing.invoices): which
    # one the statement reaches is not worth a guess that could hide a real lock.
    assert findings["invoices.total"].severity.value == "error"


def test_a_new_table_a_pending_statement_filled_from_the_database_has_no_size_to_tell(
        tmp_path: Path, database_url: str) -> None:
    # (task 530) A table an earlier pending file creates is empty when a later one locks it
    # (bionic-gpt's CHECK on `context.skills`, a note), unless a statement in between
    # copied rows into it: `INSERT ... SELECT ... FROM` a table of the database, `CREATE
    # TABLE ... AS`. Then its size cannot be told, and the lock keeps its severity. Rows
    # spelled out (VALUES, an `INSERT ... RETURNING` of them in a WITH) are a handful, and
    # rows copied in after the lock come too late to slow it.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text(
        "CREATE TABLE skills (id int PRIMARY KEY, total int);\n"
        "CREATE TABLE files (id int PRIMARY KEY, skill_id int, total int);\n"
        "CREATE TABLE receipts (id int PRIMARY KEY, total int);\n"
        "CREATE TABLE ledgers (id int PRIMARY KEY, total int);\n"
        "CREATE TABLE archive AS SELECT * FROM accounts;\n")
    (folder / "002_fill.sql").write_text(
        "WITH s AS (INSERT INTO skills VALUES (1, 5) RETURNING id)\n"
        "INSERT INTO files SELECT 1, id, 5 FROM s;\n"
        "INSERT INTO receipts SELECT id, id FROM accounts;\n")
    (folder / "003_change.sql").write_text(
        "ALTER TABLE skills ADD CONSTRAINT skills_total CHECK (total > 0);\n"
        "ALTER TABLE files ADD CONSTRAINT files_total CHECK (total > 0);\n"
        "ALTER TABLE receipts ADD CONSTRAINT receipts_total CHECK (total > 0);\n"
        "ALTER TABLE ledgers ADD CONSTRAINT ledgers_total CHECK (total > 0);\n"
        "INSERT INTO ledgers SELECT id, id FROM accounts;\n"
        "CREATE INDEX ix_archive_plan ON archive (plan);\n")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        select=("DBS101", "DBS106"))
    findings = {f.subject: f for f in commands.lint(settings, [folder]).findings}
    assert set(findings) == {"skills", "files", "receipts", "ledgers", "archive"}
    for empty in ("skills", "files", "ledgers"):
        assert findings[empty].severity.value == "note", findings[empty]
        assert dict(findings[empty].context)["Table size"] == (
            "none yet: a migration linted here creates it")
    receipts, archive = findings["receipts"], findings["archive"]
    assert (receipts.code, receipts.severity.value) == ("DBS106", "error")
    assert dict(receipts.context)["Table size"] == (
        "cannot tell: a migration linted here creates it, and `INSERT ... SELECT` at "
        "`migrations/002_fill.sql:3` may have filled it with rows before this statement")
    assert (archive.code, archive.severity.value) == ("DBS101", "error")
    assert dict(archive.context)["Table size"] == (
        "cannot tell: a migration linted here creates it, and `CREATE TABLE ... AS` at "
        "`migrations/001_create.sql:5` may have filled it with rows before this statement")


def test_a_table_dropped_and_made_again_weighs_as_empty_after_it(
        tmp_path: Path, database_url: str) -> None:
    # (task 475: Open-Assistant's 7c98102efbca drops `user_stats` and creates it again, and
    # 0964ac95170d's CREATE INDEX on it was a DBS101 error with no table size)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_again.sql").write_text(
        "DROP TABLE accounts;\nCREATE TABLE accounts (id int PRIMARY KEY, plan text);\n")
    (folder / "002_index.sql").write_text("CREATE INDEX ix_accounts_plan ON accounts (plan);\n")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        select=("DBS101", "DBS201"))
    findings = {f.code: f for f in commands.lint(settings, [folder]).findings}
    index = findings["DBS101"]
    assert index.severity.value == "note", index
    assert dict(index.context)["Table size"] == (
        "none yet: a migration linted here creates it, the database's of that name dropped "
        "or renamed away before")
    # the DROP itself is weighed by the database's table
    dropped = findings["DBS201"]
    assert "~100 rows" in dict(dropped.context)["Table size"], dropped
    assert dropped.severity.value == "error", dropped


def test_a_lock_on_a_table_the_database_does_not_have_yet_keeps_nobody_waiting(
        tmp_path: Path, database_url: str) -> None:
    # A table an earlier linted migration creates is empty, and used by nothing deployed,
    # when the migrations run: like one created in the same migration, a lock on it is no
    # DBS114/DBS125 (quivr's syncs-files locks syncs_active, then adds a key to its 134 MB
    # brains), and work on it lengthens no outage. helicone's orgs-on-requests: request
    # (the database's) is ACCESS EXCLUSIVE locked by ADD COLUMN, a key to the new
    # organization follows, then VALIDATE scans request: the finding is that scan, weighed
    # by request, not a note at the key to the new table.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text("CREATE TABLE syncs (id int PRIMARY KEY);\n")
    (folder / "002_change.sql").write_text(
        "BEGIN;\n"
        "ALTER TABLE syncs ADD COLUMN account_id int;\n"
        "UPDATE accounts SET plan = 'paid' WHERE plan IS NULL;\n"
        "COMMIT;\n"
        "BEGIN;\n"
        "LOCK TABLE syncs IN SHARE MODE;\n"
        "UPDATE accounts SET plan = 'paid' WHERE plan IS NULL;\n"
        "COMMIT;\n"
        "BEGIN;\n"
        "ALTER TABLE accounts ADD COLUMN sync_id int;\n"
        "ALTER TABLE accounts ADD CONSTRAINT accounts_sync FOREIGN KEY (sync_id) "
        "REFERENCES syncs (id) NOT VALID;\n"
        "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_sync;\n"
        "COMMIT;\n")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        select=("DBS114", "DBS125"))
    findings = [(f.code, f.location.line, f.severity.value, f.subject)
                for f in commands.lint(settings, [folder]).findings]
    assert findings == [("DBS114", 12, "warning", "accounts")]


def test_a_table_the_database_has_renamed_to_a_new_name_keeps_its_size(
        tmp_path: Path, database_url: str) -> None:
    # The new name is not in the database, but the rows are: renaming is not creating.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_rename.sql").write_text("ALTER TABLE accounts RENAME TO members;\n")
    (folder / "002_change.sql").write_text(
        "ALTER TABLE members ALTER COLUMN email TYPE varchar(50);\n")
    settings = Settings(project_root=tmp_path, database_url=database_url, large_table=0,
                        ignore=("DBS114", "DBS115", "DBS204"))
    findings = commands.lint(settings, [folder]).findings
    assert [(f.code, f.subject, f.severity.value) for f in findings] == [
        ("DBS110", "members.email", "error")]
    assert dict(findings[0].context).get("Table size") != \
        "none yet: a migration linted here creates it"


def test_breaking_changes_to_a_table_the_database_does_not_have_yet_are_notes(
        tmp_path: Path, database_url: str) -> None:
    # `dbsafe upgrade` of a new database: no deployed code can use a table the database
    # does not have, so dropping or renaming it (or its columns) breaks nothing running.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text(
        "CREATE TABLE drafts (id int PRIMARY KEY, body text, title text, note text);\n"
        "CREATE TABLE scratch (id int PRIMARY KEY);\n"
        "CREATE TABLE later (id int PRIMARY KEY);\n")
    (folder / "002_change.sql").write_text(
        "ALTER TABLE drafts DROP COLUMN body, DROP COLUMN note;\n"
        "ALTER TABLE drafts RENAME COLUMN title TO heading;\n"
        "DROP TABLE scratch;\n"
        "ALTER TABLE later RENAME TO afterwards;\n"
        "ALTER TABLE accounts DROP COLUMN plan;\n"
        "TRUNCATE afterwards;\n"
        "TRUNCATE accounts;\n"
        "DROP TABLE drafts, billing.invoices;\n")
    settings = Settings(project_root=tmp_path, database_url=database_url,
                        ignore=("DBS114", "DBS115", "DBS209"))
    findings = {(f.code, f.subject): f for f in commands.lint(settings, [folder]).findings}
    assert set(findings) == {
        ("DBS202", "drafts.body, drafts.note"), ("DBS203", "drafts.title"),
        ("DBS201", "scratch"), ("DBS204", "later"), ("DBS202", "accounts.plan"),
        ("DBS215", "afterwards"), ("DBS215", "accounts"),
        ("DBS201", "drafts, billing.invoices")}
    for key in [("DBS202", "drafts.body, drafts.note"), ("DBS203", "drafts.title"),
                ("DBS201", "scratch"), ("DBS204", "later"), ("DBS215", "afterwards")]:
        assert findings[key].severity.value == "note", key
        assert dict(findings[key].context)["Table size"] == \
            "none yet: a migration linted here creates it"
    # The database's own tables stay errors, however small: the running application
    # reads them. One of them among new ones is enough.
    assert findings[("DBS202", "accounts.plan")].severity.value == "error"
    assert findings[("DBS215", "accounts")].severity.value == "error"
    assert findings[("DBS201", "drafts, billing.invoices")].severity.value == "error"


def test_what_postgresql_refuses_whatever_the_size_is_never_weighed(
        tmp_path: Path, database_url: str) -> None:
    # A view on the column makes PostgreSQL refuse the type change (0A000) on a 100-row
    # table as on a big one: still an error, with the size said.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("CREATE VIEW account_emails AS SELECT email FROM accounts")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "002_change.sql").write_text(
        "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(50);\n")
    settings = Settings(project_root=tmp_path, database_url=database_url,
                        ignore=("DBS114", "DBS115"))
    findings = {f.code: f for f in commands.lint(settings, [folder]).findings}
    assert findings["DBS128"].severity.value == "error"
    assert "~100 rows" in dict(findings["DBS128"].context)["Table size"]
    # The rewrite the same statement would do is weighed as before.
    assert findings["DBS110"].severity.value == "warning"


def test_a_finding_about_an_index_is_weighed_by_its_table(
        tmp_path: Path, database_url: str) -> None:
    # DBS103's subject is the index; what its lock blocks, and for how long, is its table's.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("CREATE INDEX ix_accounts_email ON accounts (email)")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_create.sql").write_text(
        "CREATE TABLE drafts (id int PRIMARY KEY, body text);\n"
        "CREATE INDEX ix_drafts_body ON drafts (body);\n")
    (folder / "002_change.sql").write_text(
        "DROP INDEX ix_drafts_body;\n"
        "DROP INDEX ix_accounts_email;\n")
    for large_table, expected in ((None, "warning"), (0, "error")):
        options = {} if large_table is None else {"large_table": large_table}
        settings = Settings(project_root=tmp_path, database_url=database_url,
                            ignore=("DBS114", "DBS115"), **options)  # type: ignore[arg-type]
        findings = {f.subject: f for f in commands.lint(settings, [folder]).findings
                    if f.code == "DBS103"}
        assert set(findings) == {"ix_drafts_body", "ix_accounts_email"}
        new, old = findings["ix_drafts_body"], findings["ix_accounts_email"]
        assert new.severity.value == "note"
        assert dict(new.context)["Table"] == "drafts"
        assert dict(new.context)["Table size"] == "none yet: a migration linted here creates it"
        assert old.severity.value == expected
        assert "~100 rows" in dict(old.context)["Table size"]


def test_a_table_renamed_in_the_migration_is_weighed_by_the_database_s_size(
        tmp_path: Path, database_url: str) -> None:
    # `keeper` is the database's `accounts` (100 rows) under a new name: the index built on
    # it locks those rows, as it would before the rename. `accounts` made again after it is
    # renamed away is the migration's own, empty table: none of the old one's size.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_before.sql").write_text("CREATE INDEX ix_plan_before ON accounts (plan);\n")
    (folder / "002_rename.sql").write_text(
        "ALTER TABLE accounts RENAME TO keeper;\n"
        "CREATE INDEX ix_plan_renamed ON keeper (plan);\n"
        "CREATE INDEX ix_plan_qualified ON public.keeper (plan);\n"
        "CREATE TABLE accounts (id int PRIMARY KEY, plan text);\n")
    (folder / "003_again.sql").write_text("CREATE INDEX ix_plan_again ON accounts (plan);\n")
    for large_table, expected in ((None, "warning"), (1, "error")):
        options = {} if large_table is None else {"large_table": large_table}
        settings = Settings(project_root=tmp_path, database_url=database_url,
                            select=("DBS101",), **options)  # type: ignore[arg-type]
        findings = {(Path(f.location.path).stem, f.location.line): f
                    for f in commands.lint(settings, [folder]).findings if f.location}
        assert set(findings) == {("001_before", 1), ("002_rename", 2), ("002_rename", 3),
                                 ("003_again", 1)}
        before = findings["001_before", 1]
        size = dict(before.context)["Table size"]
        assert "~100 rows" in size and before.severity.value == expected
        for line in (2, 3):  # on keeper, then public.keeper
            renamed = findings["002_rename", line]
            assert (renamed.subject, renamed.severity.value) == (
                "keeper" if line == 2 else "public.keeper", expected), renamed
            assert dict(renamed.context)["Table size"] == size
        # (not the old table's size: none, a note; task 475: it was an error, no size)
        again = findings["003_again", 1]
        assert again.subject == "accounts" and again.severity.value == "note"
        assert dict(again.context)["Table size"] == (
            "none yet: a migration linted here creates it, the database's of that name "
            "dropped or renamed away before"), again

"""`dbsafe lock` / `dbsafe verify-lock`: the committed checksums of the revisions.

No database: the history is read by the runner's `describe` (revision files imported in a
child process), the checksums from the files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbsafe.cli import main
from dbsafe.core import ConfigError
from dbsafe.gates import lock
from dbsafe.migrate.runner import AlembicProject, RunResult, describe

ENVS = Path(__file__).parent / "envs"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the clean history (branches 0002/0003 merged by 0004), locked."""
    root = tmp_path / "project"
    shutil.copytree(ENVS / "clean", root)
    described = describe(AlembicProject(root / "alembic.ini"))
    lock.write(root / lock.LOCK_FILE, described.revisions, described.heads)
    return root


def _verify(root: Path, described: RunResult | None = None) -> list[tuple[str, str | None]]:
    described = described or describe(AlembicProject(root / "alembic.ini"))
    found = lock.verify(root / lock.LOCK_FILE, described.revisions, described.heads, root=root)
    return [(f.code, f.subject) for f in found]


def _version(root: Path, revision: str) -> Path:
    return next((root / "migrations" / "versions").glob(f"{revision}_*.py"))


def test_the_lock_lists_revisions_oldest_first_and_verifies_clean(project: Path) -> None:
    lines = [line.split()[0] for line in (project / lock.LOCK_FILE).read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == ["total", "0001", "0003", "0002", "0004", "0005"]
    assert _verify(project) == []


def test_formatting_comments_and_docstrings_do_not_count_but_sql_and_code_do(
        project: Path) -> None:
    described = describe(AlembicProject(project / "alembic.ini"))
    path = _version(project, "0002")
    original = path.read_text()
    path.write_text("# a comment\n" + original
                    .replace('"""Branch a: ', '"""Reworded. Branch a: ')
                    .replace("def downgrade() -> None:", "def downgrade() -> None:  # reversed\n"))
    assert _verify(project, described) == []

    path.write_text(original.replace("DROP INDEX ix_patients_email",
                                     "DROP INDEX IF EXISTS ix_patients_email"))
    assert _verify(project, described) == [("DBS421", "0002")]


def test_added_removed_and_second_head_revisions_are_reported(project: Path) -> None:
    shutil.copy(_version(project, "0005"), project / "migrations" / "versions" / "0006_x.py")
    extra = project / "migrations" / "versions" / "0006_x.py"
    extra.write_text(extra.read_text().replace('revision = "0005"', 'revision = "0006"')
                     .replace('down_revision = "0004"', 'down_revision = "0004"'))
    _version(project, "0001").rename(project / "0001_moved_out.py")
    # 0001 gone: 0002 and 0003 point at a revision that no longer exists, which alembic
    # refuses; take 0003's branch down to base instead so the history still loads.
    for rid in ("0002", "0003"):
        path = _version(project, rid)
        path.write_text(path.read_text().replace('down_revision = "0001"', "down_revision = None"))

    found = _verify(project)

    assert ("DBS422", "0006") in found  # added without `dbsafe lock`
    assert ("DBS423", "0001") in found  # listed, gone
    assert ("DBS424", "0005,0006") in found  # two heads
    assert ("DBS421", "0002") in found and ("DBS421", "0003") in found


def test_a_hand_edited_lock_file_and_a_merge_conflict(project: Path) -> None:
    path = project / lock.LOCK_FILE
    text = path.read_text()
    first = next(line for line in text.splitlines() if line.startswith("0001 "))
    path.write_text(text.replace(first, first.replace(first.split()[1], "sha256:" + "0" * 64)))
    codes = {code for code, _ in _verify(project)}
    assert codes == {"DBS425", "DBS421"}

    path.write_text(text + "<<<<<<< HEAD\n0006 sha256:aa x.py\n=======\n")
    with pytest.raises(ConfigError, match=r"migrations.lock:\d+: unresolved merge conflict"):
        _verify(project)


def test_revisions_edited_after_being_applied_to_a_database(project: Path) -> None:
    described = describe(AlembicProject(project / "alembic.ini"))
    found = lock.verify(project / lock.LOCK_FILE, described.revisions, described.heads,
                        root=project, applied={"0001": "0" * 64, "0002": ""})
    assert [(f.code, f.subject) for f in found] == [("DBS605", "0001")]


def test_cli_lock_then_verify_lock_exit_codes(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(ENVS / "clean", root)
    ini = str(root / "alembic.ini")
    runner = CliRunner()

    missing = runner.invoke(main, ["verify-lock", "--alembic-config", ini])
    assert missing.exit_code == 2
    assert "run `dbsafe lock`" in missing.stderr

    written = runner.invoke(main, ["lock", "--alembic-config", ini])
    assert written.exit_code == 0, written.output
    assert "(5 revisions)" in written.stderr
    assert runner.invoke(main, ["verify-lock", "--alembic-config", ini]).exit_code == 0

    path = _version(root, "0004")
    path.write_text(path.read_text().replace("GRANT SELECT", "GRANT INSERT"))
    edited = runner.invoke(main, ["verify-lock", "--alembic-config", ini])
    assert edited.exit_code == 1
    assert "DBS421" in edited.stdout and "0004" in edited.stdout


def _dbmate(folder: Path, name: str, up: str, down: str | None = None) -> Path:
    path = folder / name
    path.write_text(f"-- migrate:up\n{up}\n" + (f"-- migrate:down\n{down}\n" if down else ""))
    return path


def _sql_verify(runner: CliRunner, *args: str) -> tuple[int, list[tuple[str, str, str]]]:
    import json

    result = runner.invoke(main, ["verify-lock", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, [(f["code"], f["severity"], f["subject"])
                              for f in json.loads(result.stdout)["findings"]]


def test_lock_and_verify_lock_on_a_dbmate_folder_edited_inserted_renamed_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # bionic-gpt's dbmate folder: `lock` said "alembic config not found", then (task 404)
    # that lock and verify-lock cover alembic revisions only: dbmate keeps no checksum, so
    # an applied file edited went unseen in CI. Now the folder is locked, beside it.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    users = _dbmate(folder, "20240101000000_users.sql", "CREATE TABLE users (id int);",
                    "DROP TABLE users;")
    posts = _dbmate(folder, "20240201000000_my posts.sql", 'CREATE TABLE "my posts" (id int);',
                    'DROP TABLE "my posts";')
    _dbmate(folder, "20240301000000_tags.sql", "CREATE TABLE tags (id int);")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    written = runner.invoke(main, ["lock"])
    assert written.exit_code == 0, written.output
    assert "db/migrations.lock (3 migrations)" in written.stderr
    text = (tmp_path / "db" / lock.LOCK_FILE).read_text()
    assert "migrations/20240201000000_my%20posts.sql sha256:" in text  # a key of one word
    assert "down:migrations/20240201000000_my%20posts.sql sha256:" in text
    assert _sql_verify(runner) == (0, [])
    # Trailing blanks and a CRLF checkout are no edit.
    users.write_bytes(users.read_bytes().replace(b"\n", b"  \r\n"))
    assert _sql_verify(runner) == (0, [])

    users.write_text(users.read_text().replace("DROP TABLE users;", "DROP TABLE IF EXISTS users;"))
    posts.rename(folder / "20240202000000_my posts.sql")
    (folder / "20240301000000_tags.sql").unlink()
    _dbmate(folder, "20240115000000_inserted.sql", "CREATE TABLE a (id int);")
    _dbmate(folder, "20240401000000_appended.sql", "CREATE TABLE b (id int);")
    code, found = _sql_verify(runner)

    assert code == 1
    assert sorted(found) == sorted([
        ("DBS421", "error", "db/migrations/20240101000000_users.sql"),  # its down section
        ("DBS423", "error", "db/migrations/20240201000000_my posts.sql"),  # renamed: one finding
        ("DBS423", "error", "db/migrations/20240301000000_tags.sql"),  # removed
        ("DBS422", "error", "db/migrations/20240115000000_inserted.sql"),  # before locked ones
        ("DBS422", "note", "db/migrations/20240401000000_appended.sql"),  # after them: runs next
    ])
    shown = runner.invoke(main, ["verify-lock"]).stdout
    assert "The down section of migration db/migrations/20240101000000_users.sql changed" in shown
    assert "renamed to db/migrations/20240202000000_my posts.sql" in shown
    assert "sorts before db/migrations/20240202000000_my posts.sql" in shown
    # what dbmate does with it: runs it, out of order (it said dbmate skips it or refuses)
    assert "dbmate runs it after the later ones it already ran, out of order" in shown
    assert "db/migrations/20240101000000_users.sql:3:1: DBS421" in shown  # its down's line
    for fmt in ("github", "sarif"):
        assert runner.invoke(main, ["verify-lock", "--format", fmt]).exit_code == 1


def test_golang_migrate_pairs_each_down_file_with_its_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for version, table in ((1, "users"), (2, "posts")):
        (folder / f"{version}_{table}.up.sql").write_text(f"CREATE TABLE {table} (id int);\n")
        (folder / f"{version}_{table}.down.sql").write_text(f"DROP TABLE {table};\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["lock", "--sql-migrations", "migrations"]).exit_code == 0
    # beside the folder: at the project root
    keys = [line.split()[0] for line in (tmp_path / lock.LOCK_FILE).read_text().splitlines()
            if line and not line.startswith(("#", "total"))]
    assert keys == ["migrations/1_users.up.sql", "down:migrations/1_users.down.sql",
                    "migrations/2_posts.up.sql", "down:migrations/2_posts.down.sql"]

    (folder / "1_users.down.sql").write_text("DROP TABLE users CASCADE;\n")
    (folder / "2_posts.down.sql").unlink()
    code, found = _sql_verify(runner, "--sql-migrations", "migrations")
    assert code == 1
    assert sorted(found) == [("DBS421", "error", "migrations/1_users.down.sql"),
                             ("DBS423", "error", "migrations/2_posts.down.sql")]
    shown = runner.invoke(main, ["verify-lock", "--sql-migrations", "migrations"]).stdout
    assert "The down migration of migrations/1_users.up.sql (migrations/1_users.down.sql) " \
        "changed after it was locked" in shown


def test_a_supabase_migration_renamed_behind_its_version_is_the_same_migration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chatbot-ui's supabase/migrations (task 419): a file renamed behind its version was
    # DBS423 "its runner takes it for a new migration, and runs it again", but supabase's
    # CLI reads only the version of its history's rows (`supabase db push` said "Remote
    # database is up to date", CLI 2.122.1), as dbsafe's status does. Renamed and edited, it
    # was "no longer in the folder" and a new one that "a database past ... never runs":
    # supabase takes it for the migration that ran, and never runs the edit.
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240124234424_tool_improvements.sql").write_text(
        "ALTER TABLE tools ALTER COLUMN url TYPE text;\n")
    (folder / "20240125192042_upgrade_openai_models.sql").write_text(
        "UPDATE profiles SET model = 'gpt-4o';\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["lock"]).exit_code == 0
    (folder / "20240124234424_tool_improvements.sql").rename(
        folder / "20240124234424_tools_url_as_text.sql")
    assert _sql_verify(runner) == (0, [
        ("DBS423", "note", "supabase/migrations/20240124234424_tool_improvements.sql")])
    shown = runner.invoke(main, ["verify-lock"]).stdout
    assert "it keeps version 20240124234424, by which supabase knows it, so it does not run " \
        "again where it ran" in shown

    (folder / "20240124234424_tools_url_as_text.sql").write_text(
        "ALTER TABLE tools ALTER COLUMN url TYPE varchar(2000);\n")
    assert _sql_verify(runner) == (1, [
        ("DBS421", "error", "supabase/migrations/20240124234424_tools_url_as_text.sql")])
    assert "supabase knows it by its version 20240124234424, so a database where it ran " \
        "never runs the change" in runner.invoke(main, ["verify-lock"]).stdout

    # A new version is a new migration to supabase: the rename stays an error.
    (folder / "20240124234424_tools_url_as_text.sql").write_text(
        "ALTER TABLE tools ALTER COLUMN url TYPE text;\n")
    (folder / "20240124234424_tools_url_as_text.sql").rename(
        folder / "20240124234425_tool_improvements.sql")
    assert _sql_verify(runner) == (1, [
        ("DBS423", "error", "supabase/migrations/20240124234424_tool_improvements.sql")])


def test_a_golang_migrate_pair_renamed_behind_its_version_is_one_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # golang-migrate's schema_migrations holds the version alone: renaming `1_users` to
    # `1_accounts` (both files) leaves it applied; its down edited is still DBS421.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_users.up.sql").write_text("CREATE TABLE users (id int);\n")
    (folder / "1_users.down.sql").write_text("DROP TABLE users;\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["lock", "--sql-migrations", "migrations"]).exit_code == 0
    (folder / "1_users.up.sql").rename(folder / "1_accounts.up.sql")
    (folder / "1_users.down.sql").rename(folder / "1_accounts.down.sql")
    assert _sql_verify(runner, "--sql-migrations", "migrations") == (0, [
        ("DBS423", "note", "migrations/1_users.up.sql")])
    (folder / "1_accounts.down.sql").write_text("DROP TABLE users CASCADE;\n")
    assert _sql_verify(runner, "--sql-migrations", "migrations") == (1, [
        ("DBS423", "note", "migrations/1_users.up.sql"),
        ("DBS421", "error", "migrations/1_accounts.down.sql")])


def test_flyway_repeatable_migrations_are_not_locked_its_undo_files_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "src" / "main" / "resources" / "db" / "migration"
    folder.mkdir(parents=True)
    (folder / "V1__users.sql").write_text("CREATE TABLE users (id int);\n")
    (folder / "U1__users.sql").write_text("DROP TABLE users;\n")
    (folder / "R__view.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    written = runner.invoke(main, ["lock"])
    assert written.exit_code == 0, written.output
    assert "db/migrations.lock (1 migration)" in written.stderr
    # Flyway runs a repeatable migration again when it changes: editing it is its use.
    (folder / "R__view.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 2;\n")
    assert _sql_verify(runner) == (0, [])
    (folder / "U1__users.sql").write_text("DROP TABLE users CASCADE;\n")
    assert _sql_verify(runner) == (1, [
        ("DBS421", "error", "src/main/resources/db/migration/U1__users.sql")])


def test_a_renamed_flyway_migration_is_said_as_flyway_refuses_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DSpace's Flyway folder (task 421): DBS423 said a renamed file is taken "for a new
    # migration" and run again where it ran. Flyway keys it by version and validates the
    # description too (validateOnMigrate): it refuses to migrate that database instead.
    folder = tmp_path / "src" / "main" / "resources" / "db" / "migration"
    folder.mkdir(parents=True)
    (folder / "V9.0_2024.11.09__ldn_service.sql").write_text("CREATE TABLE a (id int);\n")
    (folder / "V9.1__b.sql").write_text("CREATE TABLE b (id int);\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["lock"]).exit_code == 0
    (folder / "V9.0_2024.11.09__ldn_service.sql").rename(folder / "V9.0_2024.11.09__ldn.sql")
    (folder / "V9.1__b.sql").rename(folder / "V9.2__b.sql")

    code, found = _sql_verify(runner)
    assert code == 1
    assert sorted(found) == [
        ("DBS423", "error", "src/main/resources/db/migration/V9.0_2024.11.09__ldn_service.sql"),
        ("DBS423", "error", "src/main/resources/db/migration/V9.1__b.sql")]
    shown = runner.invoke(main, ["verify-lock"]).stdout
    assert "Flyway's validation refuses to migrate a database that ran it (\"Migration " \
        "description mismatch for migration version 9.0.2024.11.09\")" in shown
    assert "(\"Detected applied migration not resolved locally: 9.1\")" in shown
    assert "runs it again" not in shown


@pytest.mark.parametrize(("runner_name", "old", "new"), [
    ("golang-migrate", "2_posts.up.sql", "2_my_posts.up.sql"),
    ("goose", "00002_posts.sql", "00002_my_posts.sql"),
    ("dbmate", "20240201000000_posts.sql", "20240201000000_my_posts.sql"),
])
def test_a_rename_that_keeps_the_version_its_runner_records_is_a_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner_name: str, old: str,
        new: str) -> None:
    # goose, golang-migrate and dbmate record the version alone: the renamed file is the
    # migration that ran, nothing runs again, only the lock file is out of date.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    if runner_name == "golang-migrate":
        (folder / "1_users.up.sql").write_text("CREATE TABLE users (id int);\n")
        (folder / old).write_text("CREATE TABLE posts (id int);\n")
    elif runner_name == "goose":
        (folder / "00001_users.sql").write_text(
            "-- +goose Up\nCREATE TABLE users (id int);\n")
        (folder / old).write_text("-- +goose Up\nCREATE TABLE posts (id int);\n")
    else:
        _dbmate(folder, "20240101000000_users.sql", "CREATE TABLE users (id int);")
        _dbmate(folder, old, "CREATE TABLE posts (id int);")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["--sql-migrations", "db/migrations"]
    assert runner.invoke(main, ["lock", *args]).exit_code == 0
    (folder / old).rename(folder / new)

    assert _sql_verify(runner, *args) == (0, [("DBS423", "note", f"db/migrations/{old}")])
    shown = runner.invoke(main, ["verify-lock", *args]).stdout
    if runner_name == "goose":  # (matched by its checksum: `_renamed`)
        assert f"{runner_name} records its version alone" in shown
        assert "Run `dbsafe lock` to record its new name." in shown
    else:  # (matched by its version first, as task 419 pairs them: supabase's too)
        assert f"by which {runner_name} knows it, so it does not run again" in shown
        assert "Run `dbsafe lock` to lock it under its new name." in shown


def test_an_alembic_lock_reads_as_before_and_a_sql_folder_without_a_lock(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The alembic lock keeps its header and lines (`_refuse_other_file` reads both headers).
    text = (project / lock.LOCK_FILE).read_text()
    assert text.startswith("# dbsafe migrations lock: each alembic revision's checksum")
    assert _verify(project) == []
    folder = tmp_path / "sql" / "db" / "migrations"
    folder.mkdir(parents=True)
    _dbmate(folder, "20240101000000_users.sql", "CREATE TABLE users (id int);")
    monkeypatch.chdir(tmp_path / "sql")
    missing = CliRunner().invoke(main, ["verify-lock"])
    assert missing.exit_code == 2
    assert missing.stderr.strip().endswith(
        "migrations.lock does not exist; run `dbsafe lock` and commit it")


def test_lock_leaves_a_file_it_did_not_write_alone_and_rewrites_a_conflicted_lock(
        project: Path) -> None:
    # `dbsafe lock --lock-file notes.md` replaced the notes with a lock file, exit 0.
    ini = str(project / "alembic.ini")
    notes = project / "notes.md"
    notes.write_text("# Release notes\nkeep me\n")
    runner = CliRunner()
    refused = runner.invoke(main, ["lock", "--alembic-config", ini, "--lock-file", str(notes)])
    assert refused.exit_code == 2
    assert "is not a lock file `dbsafe lock` wrote" in refused.stderr
    assert notes.read_text() == "# Release notes\nkeep me\n"

    # The way out of a merge conflict in the lock file is `dbsafe lock`: still written.
    path = project / lock.LOCK_FILE
    path.write_text(path.read_text() + "<<<<<<< HEAD\n0006 sha256:aa x.py\n=======\n")
    rewritten = runner.invoke(main, ["lock", "--alembic-config", ini])
    assert rewritten.exit_code == 0, rewritten.output
    assert "<<<<<<<" not in path.read_text()


# Per runner: a folder where two files share a version (as a branch's migration merged
# beside another's), the two files' names, and what the finding says its runner does.
_SHARED_VERSION = {
    "goose": ("db/migrations", {"00001_users.sql": "-- +goose Up\nCREATE TABLE users (id int);\n",
                                "00005_a.sql": "-- +goose Up\nCREATE TABLE a (id int);\n",
                                "5_b.sql": "-- +goose Up\nCREATE TABLE b (id int);\n"},
              ("00005_a.sql", "5_b.sql"), '"goose: duplicate version 5 detected"'),
    "golang-migrate": ("migrations", {"1_users.up.sql": "CREATE TABLE users (id int);\n",
                                      "5_a.up.sql": "CREATE TABLE a (id int);\n",
                                      "5_a.down.sql": "DROP TABLE a;\n",
                                      "5_b.up.sql": "CREATE TABLE b (id int);\n"},
                       ("5_a.up.sql", "5_b.up.sql"), '"duplicate migration file: 5_b.up.sql"'),
    "dbmate": ("db/migrations", {
        "20240101000000_users.sql": "-- migrate:up\nCREATE TABLE users (id int);\n",
        "20240105000000_a.sql": "-- migrate:up\nCREATE TABLE a (id int);\n",
        "20240105000000_b.sql": "-- migrate:up\nCREATE TABLE b (id int);\n",
        # (dbmate's versions are text: 020240105000000 is another one)
        "020240105000000_c.sql": "-- migrate:up\nCREATE TABLE c (id int);\n"},
        ("20240105000000_a.sql", "20240105000000_b.sql"), "dbmate runs the first and fails"),
    "flyway": ("src/main/resources/db/migration", {
        "V1__users.sql": "CREATE TABLE users (id int);\n",
        "V5__a.sql": "CREATE TABLE a (id int);\n", "V5_0__b.sql": "CREATE TABLE b (id int);\n",
        "B5__baseline.sql": "CREATE TABLE users (id int); CREATE TABLE a (id int);\n",
        "U5__a.sql": "DROP TABLE a;\n"},
        ("V5_0__b.sql", "V5__a.sql"), '"Found more than one migration with version 5"'),
    "sqlx": ("migrations", {"1_users.sql": "CREATE TABLE users (id int);\n",
                            "5_a.up.sql": "CREATE TABLE a (id int);\n",
                            "5_a.down.sql": "DROP TABLE a;\n",
                            "0005_b.sql": "CREATE TABLE b (id int);\n"},
             ("5_a.up.sql", "0005_b.sql"),
             '"migration 5 was previously applied but has been modified"'),
    "refinery": ("migrations", {"V1__users.sql": "CREATE TABLE users (id int);\n",
                                "V5__a.sql": "CREATE TABLE a (id int);\n",
                                # (refinery walks the subfolders of its folder)
                                "more/U05__b.sql": "CREATE TABLE b (id int);\n"},
                 ("V5__a.sql", "more/U05__b.sql"), "refinery runs one and fails at the other"),
    "diesel": ("migrations", {
        "00000000000000_diesel_initial_setup/up.sql": "SELECT 1;\n",
        "2024-01-05-000000_a/up.sql": "CREATE TABLE a (id int);\n",
        "2024-01-05-000000_a/down.sql": "DROP TABLE a;\n",
        # (`diesel migration generate`'s sub-second counter, in hexadecimal: another version)
        "2024-01-05-000000-000a_c/up.sql": "CREATE TABLE c (id int);\n",
        "2024-01-05-000000-00a0_d/up.sql": "CREATE TABLE d (id int);\n",
        "20240105000000_b/up.sql": "CREATE TABLE b (id int);\n"},
        ("2024-01-05-000000_a/up.sql", "20240105000000_b/up.sql"),
        "diesel runs only one of them"),
}
# What marks the Rust runners' folders: the crate beside them.
_CRATE = {
    "sqlx": {"Cargo.toml": '[package]\nname = "app"\n\n[dependencies]\nsqlx = "0.8"\n'},
    "refinery": {"Cargo.toml": '[package]\nname = "app"\n\n[dependencies]\nrefinery = "0.9"\n',
                 "src/main.rs": 'mod embedded {\n    refinery::embed_migrations!("migrations");\n}\n'},
    "diesel": {"diesel.toml": "[print_schema]\nfile = \"src/schema.rs\"\n"},
}


@pytest.mark.parametrize("runner", sorted(_SHARED_VERSION))
def test_two_sql_migrations_of_one_version_are_said_by_verify_lock_and_lint_and_not_locked(
        runner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # goose, golang-migrate and Flyway refuse a folder with two files of one version, dbmate,
    # sqlx and refinery fail at the second and run only one of them where either ran, diesel
    # runs one of them only, anywhere: lint and verify-lock were clean, and `lock` locked
    # both (task 413 for the first four; sqlx, refinery, diesel and lock's refusal: task 433).
    import json

    where, files, (first, second), words = _SHARED_VERSION[runner]
    folder = tmp_path / where
    for name, text in {**_CRATE.get(runner, {}),
                       **{f"{where}/{n}": t for n, t in files.items() if n != second}}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    cli, named = CliRunner(), ("--sql-migrations", where)
    assert cli.invoke(main, ["lock", *named]).exit_code == 0
    lock_file = next(tmp_path.rglob("*.lock"))
    locked = lock_file.read_text()
    # The branch's migration merged beside the other's: `lock` refuses to lock the folder
    # its runner refuses (or runs only one of), and leaves the lock file as it was.
    (folder / second).parent.mkdir(parents=True, exist_ok=True)
    (folder / second).write_text(files[second])
    refused = cli.invoke(main, ["lock", *named])
    assert refused.exit_code == 1, refused.output
    assert f"DBS424 [error] Migrations `{where}/{first}` and `{where}/{second}`" in refused.stdout
    assert "not written: two migrations share a version (DBS424)" in refused.stderr
    assert lock_file.read_text() == locked
    code, found = _sql_verify(cli, *named)
    assert code == 1
    assert ("DBS424", "error", f"{where}/{first},{where}/{second}") in found
    assert {c for c, _, _ in found} == {"DBS424", "DBS422"}  # (the second is not locked)
    linted = cli.invoke(main, ["lint", where, "--format", "json"])
    assert linted.exit_code == 1, linted.output
    [finding] = json.loads(linted.stdout)["findings"]
    assert (finding["code"], finding["path"]) == ("DBS424", f"{where}/{second}")
    version = "20240105000000" if runner in ("dbmate", "diesel") else "5"
    assert finding["message"].startswith(
        f"Migrations `{where}/{first}` and `{where}/{second}` share version {version}: ")
    assert words in finding["message"]
    # One renamed past every other, and locked again: clean.
    renamed = second.rpartition("/")[2] if runner == "refinery" else second.partition("/")[0]
    at = folder / second.rpartition("/")[0] if runner == "refinery" else folder
    (at / renamed).rename(at / renamed.replace("5", "9", 1))
    assert cli.invoke(main, ["lock", *named]).exit_code == 0
    assert _sql_verify(cli, *named) == (0, [])
    assert cli.invoke(main, ["lint", where]).exit_code == 0


def test_lock_writes_a_folder_whose_shared_version_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `ignore = ["DBS424"]` (a runner dbsafe takes for another): the user's say, as for
    # lint and verify-lock; the lock is written.
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in ("1_a.up.sql", "1_b.up.sql"):
        (folder / name).write_text("SELECT 1;\n")
    (tmp_path / "pyproject.toml").write_text('[tool.dbsafe]\nignore = ["DBS424"]\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lock", "--sql-migrations", "migrations"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and "(2 migrations)" in result.stderr


@pytest.mark.parametrize(("runner_name", "files", "inserted", "said"), [
    ("golang-migrate", ["1_a.up.sql", "3_c.up.sql"], "2_b.up.sql",
     "golang-migrate never runs it: it applies only versions above the database's"),
    ("goose", ["00001_a.sql", "00003_c.sql"], "00002_b.sql",
     'goose refuses to migrate ("missing migrations") unless run with `-allow-missing`'),
    ("flyway", ["V1__a.sql", "V3__c.sql"], "V2__b.sql",
     "Flyway refuses to migrate it as out of order (unless `outOfOrder` is set)"),
])
def test_a_migration_inserted_before_a_locked_one_is_said_as_its_runner_treats_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner_name: str, files: list[str],
        inserted: str, said: str) -> None:
    # Each runner's own rule (docs/gates.md): the finding named five runners as skipping it
    # or refusing to go on, where dbmate runs it out of order and goose needs -allow-missing.
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    body = "-- +goose Up\nSELECT 1;\n" if runner_name == "goose" else "SELECT 1;\n"
    for name in files:
        (folder / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["--sql-migrations", "db/migrations"]
    assert runner.invoke(main, ["lock", *args]).exit_code == 0
    (folder / inserted).write_text(body)
    assert _sql_verify(runner, *args) == (1, [("DBS422", "error", f"db/migrations/{inserted}")])
    assert said in runner.invoke(main, ["verify-lock", *args]).stdout


def test_a_comment_added_to_a_locked_file_says_lock_accepts_it_where_no_runner_checksum_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # minder's golang-migrate folder: a comment added to an applied file was DBS421 told only
    # to undo it, or to lock it "if it never ran anywhere"; golang-migrate keeps no checksum,
    # so the comment is safe to keep and `dbsafe lock` is how (task 575). Flyway's checksum
    # refuses it: nothing said there.
    runner = CliRunner()
    helps = {}
    for name, file in (("gm", "1_users.up.sql"), ("fw", "V1__users.sql")):
        folder = tmp_path / name / "migrations"
        folder.mkdir(parents=True)
        path = folder / file
        path.write_text("CREATE TABLE users (id int);\n")
        monkeypatch.chdir(tmp_path / name)
        written = runner.invoke(main, ["lock", "--sql-migrations", "migrations"])
        assert written.exit_code == 0, written.output
        path.write_text("-- who made it\nCREATE TABLE users (id int);\n")
        result = runner.invoke(main, ["verify-lock", "--sql-migrations", "migrations"])
        assert result.exit_code == 1 and "DBS421" in result.stdout, result.output
        helps[name] = result.stdout
    assert ("an edit that changes nothing it runs (a comment) is safe to keep, golang-migrate "
            "keeping no checksum of what ran: `dbsafe lock` records it.") in helps["gm"]
    assert "safe to keep" not in helps["fw"]

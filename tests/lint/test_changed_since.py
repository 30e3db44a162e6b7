"""`dbsafe lint --changed-since`: only the migrations git reports as changed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dbsafe import commands
from dbsafe.config import Settings


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                        "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


def test_untracked_migrations_in_a_project_below_the_git_top_are_linted(tmp_path: Path) -> None:
    # A monorepo: the git work tree's top is above the project, so git's paths and the
    # project's paths differ by the `service/` prefix.
    project = tmp_path / "service"
    migrations = project / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "V1__init.sql").write_text("CREATE TABLE visits (id bigint);\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    (migrations / "V2__index.sql").write_text("CREATE INDEX visits_id ON visits (id);\n")

    report = commands.lint(Settings(project_root=project), [migrations], changed_since="HEAD")

    assert {Path(f.location.path).name for f in report.findings if f.location} == {"V2__index.sql"}
    assert "DBS101" in {f.code for f in report.findings}


def test_sql_migrations_not_changed_still_give_their_facts(tmp_path: Path) -> None:
    # Found by a probe on hatchet: the unchanged SQL files were dropped, not read for their
    # facts, so the NOT NULL proof V1 validated was unknown to V2 (a false DBS107), and the
    # table V1 made partitioned got the plain CREATE INDEX CONCURRENTLY advice.
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__init.sql").write_text(
        "CREATE TABLE visits (id bigint, at date);\n"
        "CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);\n")
    (migrations / "V2__check.sql").write_text(
        "ALTER TABLE visits ADD CONSTRAINT visits_at_nn CHECK (at IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE visits VALIDATE CONSTRAINT visits_at_nn;\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    (migrations / "V3__not_null.sql").write_text(
        "ALTER TABLE visits ALTER COLUMN at SET NOT NULL;\n"
        "CREATE INDEX events_at ON events (at);\n")

    report = commands.lint(Settings(project_root=tmp_path), [migrations], changed_since="HEAD")

    assert {Path(f.location.path).name for f in report.findings if f.location} == {"V3__not_null.sql"}
    assert "DBS107" not in {f.code for f in report.findings}
    index = next(f for f in report.findings if f.code == "DBS101")
    assert "ON ONLY" in (index.help or "")


def test_locks_of_changed_migrations_are_read_with_the_facts_of_the_others(
        tmp_path: Path) -> None:
    # `--locks` dropped the unchanged migrations instead of reading their facts, as lint
    # does: the key kids holds to parents was unknown, and so was the ACCESS EXCLUSIVE lock
    # dropping it with CASCADE takes on kids (held against pg_locks in
    # tests/lint/test_rewrites_pg.py).
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__init.sql").write_text(
        "CREATE TABLE parents (id int PRIMARY KEY);\n"
        "CREATE TABLE kids (id int PRIMARY KEY, parent_id int REFERENCES parents (id));\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    (migrations / "V2__drop.sql").write_text(
        "ALTER TABLE parents DROP CONSTRAINT parents_pkey CASCADE;\n")

    rows = commands.lock_report(Settings(project_root=tmp_path), [migrations],
                                changed_since="HEAD")

    assert {(Path(r.location.path).name, r.relation, r.mode) for r in rows} == {
        ("V2__drop.sql", "parents", "ACCESS EXCLUSIVE"),
        ("V2__drop.sql", "kids", "ACCESS EXCLUSIVE")}


def test_a_sqitch_script_whose_included_file_changed_is_linted(tmp_path: Path) -> None:
    # psql reads `\ir ../common/orders.sql` into the deploy script: the script changed when
    # the file it includes did, though its own text did not.
    planned = "2024-01-01T00:00:00Z A <a@example.com>"
    (tmp_path / "sqitch.conf").write_text("[core]\n\tengine = pg\n")
    (tmp_path / "sqitch.plan").write_text(
        f"%syntax-version=1.0.0\n%project=shop\n\nnotes {planned}\norders {planned}\n")
    for folder in ("deploy", "revert", "common"):
        (tmp_path / folder).mkdir()
    (tmp_path / "deploy" / "orders.sql").write_text("BEGIN;\n\\ir ../common/orders.sql\nCOMMIT;\n")
    (tmp_path / "common" / "orders.sql").write_text("CREATE TABLE orders (id int);\n")
    (tmp_path / "deploy" / "notes.sql").write_text("CREATE TABLE notes (id int);\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    (tmp_path / "common" / "orders.sql").write_text(
        "CREATE TABLE orders (id int);\nCREATE INDEX notes_id ON notes (id);\n")

    report = commands.lint(Settings(project_root=tmp_path), [tmp_path], changed_since="HEAD")

    assert {(f.code, f.location.path) for f in report.findings if f.location} == {
        ("DBS101", "common/orders.sql"), ("DBS115", "common/orders.sql")}


def test_a_change_touching_no_migration_says_none_was_linted(tmp_path: Path) -> None:
    # "no findings" alone read as every migration linted clean.
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__init.sql").write_text("CREATE TABLE visits (id bigint);\n")
    (migrations / "V2__index.sql").write_text("CREATE INDEX visits_id ON visits (id);\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")

    report = commands.lint(Settings(project_root=tmp_path), [migrations], changed_since="HEAD")

    assert report.findings == ()
    assert "0 of 2 migration(s) changed since HEAD: only those are linted." in \
        report.summary["lines"]
    (migrations / "V2__index.sql").write_text("CREATE INDEX visits_id ON visits (id, id);\n")
    report = commands.lint(Settings(project_root=tmp_path), [migrations], changed_since="HEAD")
    assert "1 of 2 migration(s) changed since HEAD: only those are linted." in \
        report.summary["lines"]

"""`dbsafe upgrade` against real PostgreSQL: the happy path, revisions that fail half way,
lock contention, two runs at once, and no password anywhere."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.core import DbsafeError, Severity
from dbsafe.guard.downgrade import DowngradeOptions
from dbsafe.guard.lock import LockHeld, run_lock
from dbsafe.guard.upgrade import UpgradeOptions
from dbsafe.migrate import AlembicProject, apply
from dbsafe.pg.urls import without_password
from dbsafe.report import render
from tests.helpers import at_revision, restore_hint
from tests.migrate.projects import sqlalchemy_url, write_project

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("one_server_throwaways")]

# Revision 0005 commits part of itself (autocommit_block), then fails: a unique index over
# duplicate names. It must leave nothing behind.
HALF_WAY = '''"""half way"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE TABLE stray (id int)")
    with op.get_context().autocommit_block():
        op.execute("CREATE UNIQUE INDEX CONCURRENTLY ux_patients_name ON patients (name)")


def downgrade():
    op.execute("DROP INDEX ux_patients_name")
    op.execute("DROP TABLE stray")
'''


def _project(root: Path, *, app_sql: str = "SELECT id, name FROM patients;\n") -> Path:
    write_project(root, "well_behaved")
    (root / "app" / "queries.sql").write_text(app_sql)
    return root


# The lint captures the tests running the well-behaved project unchanged from 0002 share
# (`shared=True`), one folder per worker: the upgrade's preflight lints 0003-0004 on a copy
# of the database's schema, the same files from the same schema in each, and the capture
# cache keys an entry by both, as it does for a user (about 1 s each, 11 of 71 captures).
# A test whose files or schema differ captures its own; the others run with no cache.
_SHARED_LINT: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def shared_lint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("upgrade-lint")
    _SHARED_LINT.append(folder)
    yield folder
    _SHARED_LINT.remove(folder)


def _settings(root: Path, url: str, *, shared: bool = False, **overrides: Any):
    """Settings for `root` against `url` without a cache, or (`shared`) with the module's
    (`shared_lint`)."""
    cache = {"cache-dir": str(_SHARED_LINT[-1])} if shared else {"cache": False}
    return load_settings(root, {"database-url": url, **cache, **overrides}, environ={})


def _options(tmp_path: Path, **overrides: Any) -> UpgradeOptions:
    # DBS615 allowed: a revision here fails on duplicate rows on purpose, so that the run
    # has something to roll back (the preflight would refuse it before it ran).
    defaults: dict[str, Any] = {"backup_dir": tmp_path / "backups",
                                "allow": ("DBS202", "DBS615"), "retry_delay": 0.05}
    return UpgradeOptions(**{**defaults, **overrides})


def _at(url: str, revision: str, root: Path) -> None:
    at_revision(url, root / "alembic.ini", revision)


def _state(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        return {
            "version": [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")],
            "tables": sorted(r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")),
            "indexes": sorted(r[0] for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")),
            "invalid": [r[0] for r in conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid")],
            "patients": conn.execute("SELECT count(*) FROM patients").fetchone(),
        }


# An index on an expression and extended statistics have no statistics until their table is
# analysed; the plain index on orders (0004) needs none (DBS616).
EXPRESSION_INDEX = '''"""lower(name) index"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE STATISTICS st_patients ON id, name FROM patients")
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY ix_patients_lower_name ON patients (lower(name))")


def downgrade():
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY ix_patients_lower_name")
    op.execute("DROP STATISTICS st_patients")
'''


def _statistics_rows(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_stats WHERE tablename = 'ix_patients_lower_name'),"
            " (SELECT count(*) FROM pg_stats_ext WHERE statistics_name = 'st_patients')"
        ).fetchone()
    assert row is not None
    return row


def test_upgrade_applies_backs_up_and_records_history(database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_lower.py").write_text(EXPRESSION_INDEX)
    _at(database_url, "0002", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada', 'ada@example.org')")
    steps: list[str] = []
    said: list[str] = []

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path),
                              lambda step, message: (steps.append(step), said.append(message)))

    assert report.summary["outcome"] == "applied"
    assert report.summary["applied"] == ["0003", "0004", "0005"]
    # The seconds env.py and the revisions take to load are said (nothing was, on Prefect)
    assert said[1] == "reading the project's revisions …", said
    assert _state(database_url)["version"] == ["0005"]
    assert [f.code for f in report.findings] == ["DBS202", "DBS616"]  # DBS202 allowed: a note
    assert report.findings[0].severity is Severity.NOTE
    # 0005's expression index on patients (which holds a row) has no statistics, and without
    # --analyze dbsafe does not make them; 0004's plain index on orders needs none
    unanalysed = report.findings[1]
    assert (unanalysed.severity, unanalysed.subject) == (Severity.NOTE, "public.patients")
    assert "Run `ANALYZE public.patients;` now" in (unanalysed.help or "")
    assert _statistics_rows(database_url) == (0, 0)
    assert "analyzed" not in report.summary
    assert steps[:3] == ["preflight"] * 3 and "backup" in steps and "postflight" in steps
    backup = Path(report.summary["backup"])
    manifest = json.loads(Path(str(backup) + ".manifest.json").read_text())
    assert manifest["revisions"] == ["0002"] and manifest["size_bytes"] == backup.stat().st_size
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    status = commands.status(_settings(root, database_url))
    (entry,) = status.summary["history"]
    assert (entry["operation"], entry["outcome"], entry["from_revisions"],
            entry["to_revisions"]) == ("upgrade", "applied", ["0002"], ["0005"])
    assert set(entry["checksums"]) == {"0003", "0004", "0005"}
    assert status.summary["pending"] == []

    again = commands.upgrade(_settings(root, database_url), _options(tmp_path))
    assert again.summary["outcome"] == "up to date"


def test_analyze_fills_the_statistics_of_the_expression_index_the_upgrade_made(
        database_url: str, tmp_path: Path) -> None:
    # (without --analyze, the happy path above: the same revision, a DBS616 note)
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_lower.py").write_text(EXPRESSION_INDEX)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, analyze=True, backup=False, validate_app=False),
                              lambda step, message: steps.append(f"{step}: {message}"))

    assert report.summary["outcome"] == "applied", report.findings
    note = ("postflight: note: no statistics yet on `public.patients` for expression index "
            "`public.ix_patients_lower_name`, extended statistics `public.st_patients`: "
            "ANALYZE public.patients;")
    (analysed,) = [s for s in steps if s.startswith("analyze: ")]
    assert note in steps and analysed.startswith("analyze: ANALYZE public.patients; (")
    assert "DBS616" not in {f.code for f in report.findings}  # analysed: nothing left to do
    assert report.summary["analyzed"] == ["public.patients"]
    assert _statistics_rows(database_url) == (1, 1)
    (entry,) = commands.status(_settings(root, database_url)).summary["history"]
    assert analysed in entry["message"].splitlines()


def test_lint_errors_refuse_the_upgrade_and_change_nothing(database_url: str,
                                                           tmp_path: Path) -> None:
    root = _project(tmp_path / "p", app_sql="SELECT email FROM patients;\n")
    _at(database_url, "0002", root)
    before = _state(database_url)
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url, shared=True), _options(tmp_path, allow=()),
                              lambda step, message: steps.append(f"{step}: {message}"))

    assert report.summary["outcome"] == "refused"
    assert {"DBS202", "DBS211"} <= {f.code for f in report.findings}
    # Which findings refused the run, and how to accept one, is said (a report ending
    # `2 warnings (outcome: refused)` did not say that warnings refuse)
    (said,) = [s for s in steps if "refuse the run" in s]
    assert said.startswith("preflight: lint: ") and "at or above --fail-on warning" in said
    assert "DBS202" in said and said.endswith("`--allow CODE` accepts one for this run")
    assert "DBS115" not in {f.code for f in report.findings}  # the command sets timeouts
    assert _state(database_url) == before
    assert not (tmp_path / "backups").exists()


# cinder's kind of revision: SET NOT NULL over a column that may hold NULLs, after another.
# 0005 sums the patients' ids (an aggregate in a data migration, as MLflow's 75868b020152
# sums span costs): PostgreSQL's sum() writes no table, so orders' rows are today's.
NOT_NULL_AFTER_ANOTHER = {
    "0005_step.py": '"""step"""\nfrom alembic import op\n\nrevision = "0005"\n'
                    'down_revision = "0004"\n\n\ndef upgrade():\n'
                    '    op.execute("CREATE TABLE step_5 (id int)")\n'
                    '    op.execute("INSERT INTO step_5 SELECT sum(id) FROM patients")\n'
                    '\n\ndef downgrade():\n'
                    '    op.execute("DROP TABLE step_5")\n',
    "0006_not_null.py": '"""orders need a patient"""\nfrom alembic import op\n\n'
                        'revision = "0006"\ndown_revision = "0005"\n\n\ndef upgrade():\n'
                        '    op.alter_column("orders", "patient_id", nullable=False)\n\n\n'
                        'def downgrade():\n'
                        '    op.alter_column("orders", "patient_id", nullable=True)\n',
}


def test_rows_refusing_a_pending_revision_refuse_the_upgrade_before_the_first_revision(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    for name, text in NOT_NULL_AFTER_ANOTHER.items():
        (root / "migrations" / "versions" / name).write_text(text)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")
        conn.execute("INSERT INTO orders VALUES (10, 1), (11, NULL)")
    before = _state(database_url)
    steps: list[str] = []

    # (DBS107, the lock SET NOT NULL takes, allowed: the rows alone refuse it)
    options = _options(tmp_path, allow=("DBS202", "DBS107"))
    report = commands.upgrade(_settings(root, database_url), options,
                              lambda step, message: steps.append(f"{step}: {message}"))

    assert report.summary["outcome"] == "refused", report.findings
    assert [f.code for f in report.findings if f.severity is Severity.ERROR] == ["DBS615"]
    (refused,) = [f for f in report.findings if f.code == "DBS615"]
    assert refused.severity is Severity.ERROR and refused.subject == "orders.patient_id"
    assert "Revision `0006` would fail on the database's rows: `orders.patient_id` holds " \
           "NULLs in 1 row(s)" in refused.message
    assert "`SELECT * FROM orders WHERE patient_id IS NULL`" in (refused.help or "")
    assert "preflight: rows: 1 validation(s) of the pending statements asked of the " \
           "database's rows: 1 refused" in steps
    # At its op.* call, as lint's DBS615 is, in every format (it had no place: task 512)
    assert refused.location is not None
    assert (refused.location.path, refused.location.line, refused.location.column) == (
        "migrations/versions/0006_not_null.py", 9, 5)
    where = "migrations/versions/0006_not_null.py:9:5: DBS615 [error] Revision `0006`"
    catalog = commands.catalog()
    assert any(line.startswith(where) for line in render(report, "text", catalog).splitlines())
    assert "::error file=migrations/versions/0006_not_null.py,line=9,col=5,title=DBS615::" \
        "Revision `0006`" in render(report, "github", catalog)
    (result,) = [r for r in json.loads(render(report, "sarif", catalog))["runs"][0]["results"]
                 if r["ruleId"] == "DBS615"]
    physical = result["locations"][0]["physicalLocation"]
    assert (physical["artifactLocation"]["uri"], physical["region"]["startLine"]) == (
        "migrations/versions/0006_not_null.py", 9)
    (issue,) = [i for i in json.loads(render(report, "gitlab", catalog))
                if i["check_name"] == "DBS615"]
    assert issue["location"] == {"path": "migrations/versions/0006_not_null.py",
                                 "lines": {"begin": 9}}
    (data,) = [f for f in json.loads(render(report, "json", catalog))["findings"]
               if f["code"] == "DBS615"]
    assert (data["path"], data["line"], data["column"]) == (
        "migrations/versions/0006_not_null.py", 9, 5)
    assert "migrations/versions/0006_not_null.py:9" in render(
        report, "markdown", catalog, command="dbsafe upgrade", status=1)
    assert _state(database_url) == before  # step_5 never made: refused before 0005
    assert not (tmp_path / "backups").exists()

    # An upgrade to 0005 does not run 0006: its rows are not this run's refusal (nor is a
    # revision after the target failing on the copy: magnum's MySQL-only UPDATE).
    to_0005 = commands.upgrade(_settings(root, database_url),
                               _options(tmp_path, allow=("DBS202", "DBS107"), target="0005",
                                        dry_run=True))
    assert to_0005.summary["outcome"] == "planned", to_0005.findings
    assert not {f.code for f in to_0005.findings} & {"DBS615", "DBS107"}

    # Nor does it run 0006 on another branch (from 0004), wherever lint's order puts it
    branch = root / "migrations" / "versions" / "0006_not_null.py"
    branch.write_text(branch.read_text().replace('down_revision = "0005"',
                                                 'down_revision = "0004"'))
    to_0005 = commands.upgrade(_settings(root, database_url),
                               _options(tmp_path, allow=("DBS202", "DBS107"), target="0005",
                                        dry_run=True))
    assert to_0005.summary["outcome"] == "planned", to_0005.findings
    assert not {f.code for f in to_0005.findings} & {"DBS615", "DBS107"}




# Renku's 584598f3b769 (task 549): an INSERT ... SELECT giving a NOT NULL column NULLs, which
# the copy (no rows) accepted; the preflight asked nothing of it (task 551).
INSERT_SELECT = ('"""a patient per order"""\nfrom alembic import op\n\nrevision = "0005"\n'
                 'down_revision = "0004"\n\n\ndef upgrade():\n'
                 '    op.execute("INSERT INTO patients (id, name) SELECT o.id + 100, p.name "\n'
                 '               "FROM orders o LEFT JOIN patients p ON p.id = o.patient_id")\n'
                 '\n\ndef downgrade():\n'
                 '    op.execute("DELETE FROM patients WHERE id > 100")\n')


@pytest.mark.parametrize("clean", [False, True], ids=["nulls", "clean"])
def test_an_insert_select_giving_a_not_null_column_nulls_is_refused_before_it_runs(
        database_url: str, tmp_path: Path, clean: bool) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_insert_select.py").write_text(INSERT_SELECT)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")
        conn.execute("INSERT INTO orders VALUES (10, 1)" if clean
                     else "INSERT INTO orders VALUES (10, 1), (11, NULL)")
    before = _state(database_url)
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path, allow=()),
                              lambda step, message: steps.append(f"{step}: {message}"))

    said = [s for s in steps if s.startswith("preflight: rows: ")]
    if clean:  # (its rows asked, none refused: applied)
        assert report.summary["outcome"] == "applied", report.findings
        assert "DBS615" not in {f.code for f in report.findings}
        assert said[-1].endswith(": 0 refused, 4 passes"), said
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT id, name FROM patients WHERE id > 100").fetchall() \
                == [(110, "Ada")]
        return
    assert report.summary["outcome"] == "refused", report.findings
    (refused,) = [f for f in report.findings if f.code == "DBS615"]
    assert refused.severity is Severity.ERROR and refused.subject == "patients.name"
    assert "Revision `0005` would fail on the database's rows: `patients.name` is given " \
           "NULLs (NOT NULL) in 1 row(s)" in refused.message
    assert refused.location is not None and refused.location.path == \
        "migrations/versions/0005_insert_select.py"
    assert any("1 refused" in s for s in said), said
    assert _state(database_url) == before  # nothing ran
    assert not (tmp_path / "backups").exists()

# A `# dbsafe: ignore[DBS615]` at the op.* call reached none of it: the rows are asked once
# lint applied the suppressions, so the comment lint honours for its own findings there was
# read by nobody, and the run refused all the same (task 500).
def test_a_suppression_comment_at_the_statement_accepts_the_rows_refusal(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    for name, text in NOT_NULL_AFTER_ANOTHER.items():
        (root / "migrations" / "versions" / name).write_text(text.replace(
            '    op.alter_column("orders", "patient_id", nullable=False)',
            '    # dbsafe: ignore[DBS615] the NULL orders are filled by hand before the deploy\n'
            '    op.alter_column("orders", "patient_id", nullable=False)'))
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")
        conn.execute("INSERT INTO orders VALUES (10, 1), (11, NULL)")
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, allow=("DBS202", "DBS107"), dry_run=True),
                              lambda step, message: steps.append(f"{step}: {message}"))

    assert report.summary["outcome"] == "planned", report.findings
    assert "DBS615" not in {f.code for f in report.findings}
    (said,) = [s for s in steps if ": suppressed by" in s]
    assert said.startswith("preflight: rows: 0006: ALTER TABLE orders ALTER COLUMN patient_id "
                           "SET NOT NULL: refused (orders.patient_id: holds NULLs")
    assert said.endswith(": suppressed by `dbsafe: ignore[DBS615]` at "
                         "migrations/versions/0006_not_null.py:9")
    assert "preflight: rows: 1 validation(s) of the pending statements asked of the " \
           "database's rows: 1 refused (1 suppressed by a `dbsafe: ignore[DBS615]` " \
           "comment)" in steps


def test_a_revision_failing_half_way_leaves_nothing_behind(database_url: str,
                                                           tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_half_way.py").write_text(HALF_WAY)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada')")
    before = _state(database_url)

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path))

    assert report.summary["outcome"] == "failed"
    assert _state(database_url) == before  # no stray table, no invalid index, data intact
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    assert "could not create unique index" in failed.message
    assert dict(failed.context)["Removed leftovers"] == (
        "index public.ux_patients_name, table public.stray")


def test_a_failure_after_applied_revisions_rolls_back_to_the_start(database_url: str,
                                                                   tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_half_way.py").write_text(HALF_WAY)
    _at(database_url, "0002", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada', 'a@x'), (2, 'Ada', 'b@x')")
    before = _state(database_url)

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path))

    assert report.summary["outcome"] == "rolled back"
    state = _state(database_url)
    assert state["version"] == ["0002"] and state["tables"] == before["tables"]
    assert state["invalid"] == [] and state["patients"] == (2,)
    assert "schema verified equal to before the upgrade" in "\n".join(
        report.summary["what_happened"])
    comment = render(report, "markdown", commands.catalog(), command="dbsafe upgrade", status=1)
    assert comment.startswith("<!-- dbsafe:upgrade -->\n### :x: `dbsafe upgrade`: ")
    assert "outcome: rolled back" in comment.splitlines()[3]
    story = comment.split("<details><summary>What happened</summary>\n\n```text\n")[1]
    assert "schema verified equal to before the upgrade" in story.split("\n```\n")[0]
    assert commands.status(_settings(root, database_url)).summary["history"][0]["outcome"] \
        == "rolled back"


# 0005 comments the patients table; its downgrade() comments it otherwise instead of
# removing the comment. 0006 then fails on duplicate names, and the way back leaves the
# comment 0005's downgrade() wrote.
COMMENT_KEPT = '''"""comment patients"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("COMMENT ON TABLE patients IS 'the clinic''s patients'")


def downgrade():
    op.execute("COMMENT ON TABLE patients IS 'downgraded'")
'''

FAILS = HALF_WAY.replace('"0005"', '"0006"').replace('"0004"', '"0005"')


def test_a_schema_differing_after_the_way_back_says_which_side_is_which(
        database_url: str, tmp_path: Path) -> None:
    # The downgrade's DBS603 names its sides, "(the database -> 0004's schema)"; the
    # upgrade's said only "Differences", so "... -> ..." could read either way.
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "0005_comment.py").write_text(COMMENT_KEPT)
    (versions / "0006_fails.py").write_text(FAILS)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada')")  # 0006 fails

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path, backup=False))

    assert report.summary["outcome"] == "failed", report.findings
    (finding,) = [f for f in report.findings if f.code == "DBS603"]
    assert finding.message == ("After the rollback to 0004, the schema differs from the one "
                               "recorded before the upgrade.")
    ((title, text),) = finding.context
    assert title == "Differences (the database -> 0004's schema)"
    # The database keeps the comment 0005's downgrade() wrote; 0004 had none.
    assert text == "table `public.patients`: comment differs (downgraded -> none)"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT obj_description('patients'::regclass, 'pg_class')"
                            ).fetchone() == ("downgraded",)


SEQUENCE_KEPT = COMMENT_KEPT.replace(
    """op.execute("COMMENT ON TABLE patients IS 'the clinic''s patients'")""",
    """op.execute("CREATE SEQUENCE patients_ref_seq")""").replace(
    """op.execute("COMMENT ON TABLE patients IS 'downgraded'")""",
    """op.execute("COMMENT ON TABLE patients IS NULL")""")


# 0005 merges the duplicate patient 2 into 1 (mealie's dded3119c1fe merged duplicate units):
# its orders repointed, the patient deleted; its downgrade() undoes only its column. 0006
# then fails on the duplicates it did not merge (Cy), and the way back goes through 0005.
MERGES_ROWS = '''"""merge duplicate patients"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("UPDATE orders SET patient_id = 1 WHERE patient_id = 2")
    op.execute("DELETE FROM patients WHERE id = 2")
    op.execute("ALTER TABLE patients ADD COLUMN merged boolean")


def downgrade():
    op.execute("ALTER TABLE patients DROP COLUMN merged")
'''


def _upgrade_failing_after(revision: str, url: str, tmp_path: Path) -> tuple[Any, list[str]]:
    """Upgrade from 0004, with patients to merge and their orders, through `revision` (0005)
    to 0006, which fails on the duplicates left (Cy); the report and the steps said."""
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_merge.py").write_text(revision)
    (root / "migrations" / "versions" / "0006_half_way.py").write_text(FAILS)
    _at(url, "0004", root)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada'), (3, 'Bob'), "
                     "(4, 'Cy'), (5, 'Cy')")
        conn.execute("INSERT INTO orders VALUES (10, 1), (11, 2), (12, 2), (13, 3)")
    steps: list[str] = []
    # (DBS120 allowed too: a revision calling a function that builds SQL is linted as SQL
    # dbsafe cannot read, and these tests are about what the run reads and rolls back)
    report = commands.upgrade(_settings(root, url),
                              _options(tmp_path, allow=("DBS120", "DBS202", "DBS615")),
                              lambda step, message: steps.append(f"{step}: {message}"))
    return report, steps


def _rows_read_before(steps: list[str]) -> str:
    """What the run said of the rows it read before the first revision."""
    (line,) = [s for s in steps if s.startswith("rows: rows before the upgrade: ")]
    return line.removeprefix("rows: rows before the upgrade: ")


def test_rows_a_rolled_back_revision_changed_are_named_with_the_backup_holding_them(
        database_url: str, tmp_path: Path) -> None:
    report, steps = _upgrade_failing_after(MERGES_ROWS, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back", report.findings
    assert _state(database_url)["version"] == ["0004"]
    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.severity is Severity.WARNING
    assert left.subject == "public.orders, public.patients"
    assert left.context == (("Tables (before the upgrade -> after the way back)",
                             "public.orders: 4 rows, changed\npublic.patients: 5 -> 4 rows"),)
    backup = report.summary["backup"]
    assert f"dbsafe restore {backup}" in (left.help or "")
    assert ("way back: rows differ from before the upgrade in 2 table(s): public.orders: 4 "
            "rows, changed; public.patients: 5 -> 4 rows; as they were: "
            + restore_hint(backup, database_url)) in steps
    # Only the tables 0005 writes are read (not alembic_version, nor any other).
    assert _rows_read_before(steps).startswith(
        "the tables the pending revisions may change (public.orders, public.patients): 2 "
        "table(s), 9 row(s) counted and checksummed in ")
    # The failure itself is still the run's error (the exit code is the rollback's).
    assert [f.subject for f in report.findings if f.code == "DBS601"] == ["0006"]


def test_rows_the_way_back_leaves_as_they_were_are_said_to_be(database_url: str,
                                                              tmp_path: Path) -> None:
    # Every order written again with the values it had: read, and equal after the way back.
    same_rows = "\n".join(line for line in MERGES_ROWS.splitlines()
                          if "DELETE" not in line).replace(
        "SET patient_id = 1 WHERE patient_id = 2", "SET patient_id = patient_id")

    report, steps = _upgrade_failing_after(same_rows, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back"
    assert [f for f in report.findings if f.code == "DBS614"] == []
    assert "way back: the rows of 1 table(s) are as before the upgrade (count and checksum)" \
        in steps


def test_revisions_changing_no_rows_read_no_table(database_url: str, tmp_path: Path) -> None:
    # DDL only (0005 adds a column, 0006 builds an index): the read before the first
    # revision (1.3 s per 500,000 rows) is not made, and the way back compares nothing.
    schema_only = "\n".join(line for line in MERGES_ROWS.splitlines()
                            if "orders" not in line and "DELETE" not in line)

    report, steps = _upgrade_failing_after(schema_only, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back"
    assert _rows_read_before(steps) == "no revision changes rows: none read"
    assert not [s for s in steps if "table(s)" in s and "rows" in s], steps
    assert [f for f in report.findings if f.code == "DBS614"] == []


# 0005 merges duplicate patients as an ORM data migration does (mealie's dded3119c1fe): it
# SELECTs them, and Python decides what to repoint and delete. On lint's empty copy only the
# SELECT runs; the orders it repoints are read as the table referencing patients.
MERGES_IN_PYTHON = '''"""merge duplicate patients, decided in Python"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    conn = op.get_bind()
    kept = {}
    for id_, name in conn.execute(sa.text("SELECT id, name FROM patients ORDER BY id")):
        if name in kept and name.startswith("A"):
            conn.execute(sa.text("UPDATE orders SET patient_id = :kept WHERE patient_id = :id"),
                         {"kept": kept[name], "id": id_})
            conn.execute(sa.text("DELETE FROM patients WHERE id = :id"), {"id": id_})
        kept.setdefault(name, id_)


def downgrade():
    pass
'''


def test_rows_a_revision_only_selects_on_the_copy_are_still_compared(
        database_url: str, tmp_path: Path) -> None:
    report, steps = _upgrade_failing_after(MERGES_IN_PYTHON, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back", report.findings
    assert _rows_read_before(steps).startswith(
        "the tables the pending revisions may change (public.orders, public.patients): 2 "
        "table(s), 9 row(s) counted")
    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.context[0][1] == "public.orders: 4 rows, changed\npublic.patients: 5 -> 4 rows"


# 0005 renames a patient through a function of its own: what the function writes is read
# from the CREATE FUNCTION lint captured (the database before the upgrade has no such
# function).
THROUGH_A_FUNCTION = '''"""rename through a function"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE FUNCTION rename_patient(p int) RETURNS void LANGUAGE sql "
               "AS $$ UPDATE patients SET name = 'Ada B' WHERE id = p $$")
    op.execute("SELECT rename_patient(2)")


def downgrade():
    op.execute("DROP FUNCTION rename_patient(int)")
'''


# The same function building its UPDATE at run time.
THROUGH_DYNAMIC_SQL = THROUGH_A_FUNCTION.replace(
    "LANGUAGE sql \"\n               \"AS $$ UPDATE patients SET name = 'Ada B' WHERE id = p $$",
    "LANGUAGE plpgsql \"\n               \"AS $$ BEGIN EXECUTE 'UPDATE patients SET name = "
    "''Ada B'' WHERE id = ' || p; END $$")


@pytest.mark.parametrize(("revision", "read"), [
    # patients, and orders, which references it; not alembic_version.
    (THROUGH_A_FUNCTION, "the tables the pending revisions may change (public.orders, "
     "public.patients): 2 table(s), 9 row(s) counted"),
    (THROUGH_DYNAMIC_SQL, "every table (the revisions call rename_patient() as 0005 creates "
     "it, which builds SQL at run time (EXECUTE)): 3 table(s), 10 row(s) counted"),
], ids=["its writes", "sql built at run time"])
def test_a_revision_calling_its_own_function_reads_what_the_function_writes(
        revision: str, read: str, database_url: str, tmp_path: Path) -> None:
    assert THROUGH_DYNAMIC_SQL != THROUGH_A_FUNCTION
    report, steps = _upgrade_failing_after(revision, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back", report.findings
    assert _rows_read_before(steps).startswith(read)
    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.subject == "public.patients"


# 0005 (applied before the upgrade) puts a trigger on patients writing an audit table; the
# upgrade then merges patients as MERGES_ROWS does (0006), and fails (0007).
AUDITED = '''"""audit deleted patients"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE TABLE audit_log (id serial PRIMARY KEY, op text, row jsonb)")
    op.execute("""CREATE FUNCTION log_patient() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO audit_log (op, row) VALUES (TG_OP, to_jsonb(OLD));
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER patients_audit AFTER DELETE ON patients FOR EACH ROW "
               "EXECUTE FUNCTION log_patient()")


def downgrade():
    op.execute("DROP TRIGGER patients_audit ON patients")
    op.execute("DROP FUNCTION log_patient()")
    op.execute("DROP TABLE audit_log")
'''

# An updated_at trigger on orders: it changes only the row it is given.
TOUCHED = '''"""orders touched"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE orders ADD COLUMN updated_at timestamptz")
    op.execute("""CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW "
               "EXECUTE FUNCTION touch()")


def downgrade():
    op.execute("DROP TRIGGER orders_touch ON orders")
    op.execute("DROP FUNCTION touch()")
    op.execute("ALTER TABLE orders DROP COLUMN updated_at")
'''


def _upgrade_with_trigger(trigger: str, revision: str, url: str, tmp_path: Path
                          ) -> tuple[Any, list[str]]:
    """As `_upgrade_failing_after`, from 0005 (`trigger`, applied before) through `revision`
    (as 0006) to 0007, which fails."""
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "0005_trigger.py").write_text(trigger)
    (versions / "0006_rows.py").write_text(
        revision.replace('"0005"', '"0006"').replace('"0004"', '"0005"'))
    (versions / "0007_half_way.py").write_text(
        FAILS.replace('"0006"', '"0007"').replace('"0005"', '"0006"'))
    _at(url, "0005", root)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada'), (3, 'Bob'), "
                     "(4, 'Cy'), (5, 'Cy')")
        conn.execute("INSERT INTO orders VALUES (10, 1), (11, 2), (12, 2), (13, 3)")
    steps: list[str] = []
    report = commands.upgrade(_settings(root, url), _options(tmp_path),
                              lambda step, message: steps.append(f"{step}: {message}"))
    return report, steps


def test_rows_a_trigger_wrote_are_named_after_the_way_back(database_url: str,
                                                           tmp_path: Path) -> None:
    report, steps = _upgrade_with_trigger(AUDITED, MERGES_ROWS, database_url, tmp_path)

    # The audit table the trigger on patients writes is read, and no other table.
    _audit_log_read_and_named(report, steps)


def _audit_log_read_and_named(report: Any, steps: list[str]) -> None:
    """The audit table is read before the upgrade with the tables 0006 writes, and named
    with them after the way back."""
    assert report.summary["outcome"] == "rolled back", report.findings
    assert _rows_read_before(steps).startswith(
        "the tables the pending revisions may change (public.audit_log, public.orders, "
        "public.patients): 3 table(s), 9 row(s) counted")
    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.context[0][1] == ("public.audit_log: 0 -> 1 rows\npublic.orders: 4 rows, "
                                  "changed\npublic.patients: 5 -> 4 rows")


# 0005 (applied before the upgrade) gives the application a function writing an audit table;
# the upgrade (0006) calls it as it merges patients.
AUDIT_FUNCTION = AUDITED.replace(
    "RETURNS trigger", "RETURNS void").replace(
    "VALUES (TG_OP, to_jsonb(OLD))", "VALUES ('merge', NULL)").replace(
    "RETURN NULL;", "").replace(
    """    op.execute("CREATE TRIGGER patients_audit AFTER DELETE ON patients FOR EACH ROW "
               "EXECUTE FUNCTION log_patient()")\n""", "").replace(
    """    op.execute("DROP TRIGGER patients_audit ON patients")\n""", "")


# 0005 (applied before the upgrade) numbers invoices from a counter table (a column default
# calling its function) and logs DDL (an event trigger); the upgrade (0006) adds an invoice
# as it merges patients, and its DDL (ADD COLUMN) fires the event trigger.
EVALUATED = AUDITED.split("def upgrade():")[0] + '''def upgrade():
    op.execute("CREATE TABLE counters (name text PRIMARY KEY, n int)")
    op.execute("INSERT INTO counters VALUES ('invoice', 0)")
    op.execute("""CREATE FUNCTION next_invoice_number() RETURNS int LANGUAGE sql AS $$
        UPDATE counters SET n = n + 1 WHERE name = 'invoice' RETURNING n $$""")
    op.execute("CREATE TABLE invoices (id int, number int DEFAULT next_invoice_number())")
    op.execute("CREATE TABLE ddl_log (tag text)")
    op.execute("""CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO ddl_log VALUES (TG_TAG); END $$""")
    op.execute("CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl()")


def downgrade():
    op.execute("DROP EVENT TRIGGER log_ddl")
    op.execute("DROP FUNCTION log_ddl()")
    op.execute("DROP TABLE ddl_log, invoices, counters")
    op.execute("DROP FUNCTION next_invoice_number()")
'''


@pytest.mark.parametrize(("database", "call", "read", "named"), [
    (AUDIT_FUNCTION, "SELECT log_patient()",
     "public.audit_log, public.orders, public.patients): 3 table(s), 9 row(s)",
     "public.audit_log: 0 -> 1 rows\n"),
    # Not the invoices only: the counter their default updates, and the DDL log (4 rows of
    # dbsafe's history table's DDL before; 0006's ALTER, 0007's CREATE TABLE, the leftovers
    # of 0007 dropped and 0006's downgrade after).
    (EVALUATED, "INSERT INTO invoices (id) VALUES (1)",
     "public.counters, public.ddl_log, public.invoices, public.orders, public.patients): 5 "
     "table(s), 14 row(s)",
     "public.counters: 1 rows, changed\npublic.ddl_log: 4 -> 9 rows\npublic.invoices: 0 -> 1 "
     "rows\n"),
], ids=["called", "column default and event trigger"])
def test_a_revision_calling_a_function_on_the_database_reads_the_table_it_writes(
        database: str, call: str, read: str, named: str, database_url: str,
        tmp_path: Path) -> None:
    assert "CREATE TRIGGER" not in database
    logs = MERGES_ROWS.replace('    op.execute("DELETE FROM patients WHERE id = 2")\n',
                               '    op.execute("DELETE FROM patients WHERE id = 2")\n'
                               f'    op.execute("{call}")\n')

    report, steps = _upgrade_with_trigger(database, logs, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back", report.findings
    assert _rows_read_before(steps).startswith(
        f"the tables the pending revisions may change ({read} counted")
    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.context[0][1] == (f"{named}public.orders: 4 rows, changed\n"
                                  "public.patients: 5 -> 4 rows")


def test_an_updated_at_trigger_reads_only_the_table_written(database_url: str,
                                                            tmp_path: Path) -> None:
    orders_only = MERGES_ROWS.replace(
        '    op.execute("DELETE FROM patients WHERE id = 2")\n', "")

    report, steps = _upgrade_with_trigger(TOUCHED, orders_only, database_url, tmp_path)

    assert report.summary["outcome"] == "rolled back", report.findings
    assert _rows_read_before(steps).startswith(
        "the tables the pending revisions may change (public.orders): 1 table(s), 4 row(s) "
        "counted")
    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.context[0][1] == "public.orders: 4 rows, changed"


def test_tables_over_the_read_budget_are_named_as_not_compared(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbsafe.guard import rows

    # The two tables 0005 writes, of one page each, read smallest first, then by name:
    # orders fits in one page, patients does not.
    monkeypatch.setattr(rows, "READ_BUDGET", 8192)

    report, steps = _upgrade_failing_after(MERGES_ROWS, database_url, tmp_path)

    (left,) = [f for f in report.findings if f.code == "DBS614"]
    assert left.context[0][1] == "public.orders: 4 rows, changed"
    assert left.context[1][0] == "Not compared (over the read budget)"
    assert left.context[1][1].startswith("public.patients (")
    said = _rows_read_before(steps)
    assert said.startswith("the tables the pending revisions may change (public.orders, "
                           "public.patients): 1 table(s), 4 row(s) counted and checksummed "
                           "in ")
    assert said.endswith("; 1 over the read budget not read")
    assert any(s.startswith("way back: rows not compared (over the read budget): "
                            "public.patients (") for s in steps), steps


def test_the_preflight_says_what_the_problems_before_the_upgrade_are(
        database_url: str, tmp_path: Path) -> None:
    # mealie's empty database: "31 problems exist before the upgrade" were 31 DBS301 of its
    # application's queries naming tables the upgrade creates.
    root = _project(tmp_path / "p", app_sql="SELECT patient_id FROM orders;\n")
    _at(database_url, "0001", root)
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, allow=("DBS202", "DBS117"), backup=False),
                              lambda step, message: steps.append(f"{step}: {message}"))

    assert report.summary["outcome"] == "applied", report.findings
    assert ("preflight: 1 problem(s) exist before the upgrade: 1 DBS301 in the "
            "application's queries; postflight only fails on new ones") in steps
    # The rows read before the first revision is a step of its own: it read `backup:`
    # with no backup taken (task 407)
    assert "rows: rows before the upgrade: no revision changes rows: none read" in steps
    assert not [s for s in steps if s.startswith("backup:")], steps


def test_an_object_left_by_the_way_back_is_said_to_be_in_the_database(
        database_url: str, tmp_path: Path) -> None:
    # mealie's b3dbb554ba53 creates the pg_trgm extension and its downgrade() leaves it:
    # after the way back, DBS603 said "extension `pg_trgm`: only in the source", under
    # "(the database -> ...)", naming neither side.
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "0005_sequence.py").write_text(SEQUENCE_KEPT)
    (versions / "0006_fails.py").write_text(FAILS)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada')")  # 0006 fails

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path, backup=False))

    assert report.summary["outcome"] == "failed", report.findings
    (finding,) = [f for f in report.findings if f.code == "DBS603"]
    ((title, text),) = finding.context
    assert title == "Differences (the database -> 0004's schema)"
    assert text == "sequence `public.patients_ref_seq`: only in the database"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('patients_ref_seq') IS NOT NULL"
                            ).fetchone() == (True,)


def test_lock_contention_waits_at_most_lock_timeout_then_gives_up(database_url: str,
                                                                  tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    blocker = psycopg.connect(database_url)
    blocker.execute("SELECT count(*) FROM patients")  # a long transaction holding ACCESS SHARE
    latencies: list[float] = []
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            i = 100
            while not stop.is_set():
                started = time.perf_counter()
                conn.execute("INSERT INTO patients VALUES (%s, 'w', NULL)", (i,))
                latencies.append(time.perf_counter() - started)
                i += 1
                time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        started = time.perf_counter()
        report = commands.upgrade(_settings(root, database_url, shared=True),
                                  _options(tmp_path, lock_timeout="500ms", retries=2,
                                           backup=False))
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        thread.join()
        blocker.close()

    assert report.summary["outcome"] == "failed"
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    assert "lock timeout" in failed.message and dict(failed.context)["Attempts"] == "3"
    assert _state(database_url)["version"] == ["0002"]
    # Writers queue behind the waiting ALTER at most lock_timeout per attempt.
    assert max(latencies) < 1.5, max(latencies)
    assert elapsed < 60


def test_a_lock_timeout_names_the_session_holding_the_lock(database_url: str,
                                                          tmp_path: Path) -> None:
    """A report idle in its transaction on `patients` when 0003 wants ACCESS EXCLUSIVE on it:
    each retry, the give-up, the finding and the history name the report's session (pid,
    application_name, user, state, lock held), which PostgreSQL's 55P03 message does not;
    never its query, whose literals may be secrets."""
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    report = psycopg.connect(database_url, application_name="nightly-report")
    report.execute("SELECT count(*) FROM patients WHERE name <> 's3cret-literal'")
    pid, user = report.info.backend_pid, report.info.user
    steps: list[str] = []
    try:
        result = commands.upgrade(_settings(root, database_url, shared=True),
                                  _options(tmp_path, lock_timeout="300ms", retries=1,
                                           backup=False),
                                  progress=lambda step, text: steps.append(f"{step}: {text}"))
    finally:
        report.close()

    named = (f"blocked by pid {pid} (application_name 'nightly-report', user {user}, "
             "idle in transaction, transaction open ")
    (retry,) = [s for s in steps if "retrying in" in s]
    assert "lock timeout" in retry and named in retry, retry
    assert "s) holding ACCESS SHARE on public.patients — retrying in " in retry, retry
    (gave_up,) = [s for s in steps if "0003 failed:" in s]
    assert named in gave_up and "ACCESS SHARE on public.patients" in gave_up, gave_up
    (failed,) = [f for f in result.findings if f.code == "DBS601"]
    assert dict(failed.context)["Blocked by"].startswith(f"pid {pid} ("), failed.context
    (last,) = commands.status(_settings(root, database_url, shared=True)).summary["history"][:1]
    assert named in last["message"], last["message"]
    assert "s3cret-literal" not in json.dumps(result.summary) + last["message"]
    assert _state(database_url)["version"] == ["0002"]


# Revision 0005 changes rows, then its autocommit_block() (which commits them) waits for a
# lock another session holds: a lock timeout, after the row changes committed.
BUMP_THEN_BLOCKED = '''"""bump then blocked"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("UPDATE patients SET name = name || '!'")
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE patients ADD COLUMN flag int")


def downgrade():
    op.execute("ALTER TABLE patients DROP COLUMN flag")
    op.execute("UPDATE patients SET name = rtrim(name, '!')")
'''


def test_a_version_table_env_py_puts_elsewhere_is_found(database_url: str,
                                                         tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "context.configure(connection=connection, target_metadata=target_metadata)",
        "context.configure(connection=connection, target_metadata=target_metadata, "
        "version_table_schema='meta', version_table='schema_versions')"))
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE SCHEMA meta")
    _at(database_url, "0002", root)
    settings = _settings(root, database_url)
    assert commands.status(settings).summary["current"] == ["0002"]

    report = commands.upgrade(settings, _options(tmp_path, backup=False))

    assert report.summary["outcome"] == "applied"
    assert report.summary["from"] == ["0002"] and report.summary["applied"] == ["0003", "0004"]
    (entry,) = commands.status(settings).summary["history"]
    assert (entry["from_revisions"], entry["to_revisions"]) == (["0002"], ["0004"])
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM meta.schema_versions").fetchall() == [
            ("0004",)]
        # A second project's table of the same shape: which is this one's is unknowable.
        conn.execute("CREATE TABLE meta.other_versions (version_num varchar(32) NOT NULL, "
                     "CONSTRAINT other_versions_pkc PRIMARY KEY (version_num))")
    with pytest.raises(DbsafeError, match="several alembic version tables"):
        commands.status(settings)


def test_a_lock_timeout_under_pg8000_is_retried_and_names_the_session(database_url: str,
                                                                      tmp_path: Path) -> None:
    """Letta's env.py runs alembic on pg8000, whose errors carry PostgreSQL's fields only as
    a dict (DatabaseError({'S': 'ERROR', 'C': '55P03', 'M': ...})): the lock timeout had
    no SQLSTATE, so it was not retried, no session was named, and the message was the
    dict's text."""
    pytest.importorskip("pg8000")
    root = tmp_path / "p"
    write_project(root, "psycopg2_url",
                  ini_url="postgresql+pg8000://decoy:decoy@127.0.0.1:1/decoy")
    (root / "app" / "queries.sql").write_text("SELECT id, name FROM patients;\n")
    _at(database_url, "0002", root)
    report = psycopg.connect(database_url, application_name="nightly-report")
    report.execute("SELECT count(*) FROM patients")
    pid = report.info.backend_pid
    steps: list[str] = []
    try:
        result = commands.upgrade(_settings(root, database_url),
                                  _options(tmp_path, lock_timeout="300ms", retries=1,
                                           backup=False, target="0003"),
                                  progress=lambda step, text: steps.append(f"{step}: {text}"))
    finally:
        report.close()

    (retry,) = [s for s in steps if "retrying in" in s]
    assert f"blocked by pid {pid} (application_name 'nightly-report'" in retry, retry
    (failed,) = [f for f in result.findings if f.code == "DBS601"]
    assert "canceling statement due to lock timeout" in failed.message, failed.message
    assert "{'S'" not in failed.message and dict(failed.context)["Attempts"] == "2"
    assert _state(database_url)["version"] == ["0002"]


def test_a_lock_timeout_after_committed_row_changes_is_not_retried(database_url: str,
                                                                     tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_bump.py").write_text(BUMP_THEN_BLOCKED)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")
    blocker = psycopg.connect(database_url)
    blocker.execute("SELECT count(*) FROM orders, patients")  # ACCESS SHARE until closed
    try:
        report = commands.upgrade(_settings(root, database_url),
                                  _options(tmp_path, lock_timeout="300ms", retries=3,
                                           backup=False))
    finally:
        blocker.close()

    assert report.summary["outcome"] == "failed"
    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    context = dict(failed.context)
    # A retry would have run the UPDATE again: 'Ada!!', 'Ada!!!', ...
    assert context["Attempts"] == "1"
    assert context["Committed before it failed"] == "UPDATE patients SET name = name || '!'"
    assert failed.help and "not retried" in failed.help
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT name FROM patients").fetchall() == [("Ada!",)]


def test_a_lock_timeout_with_nothing_committed_is_retried(database_url: str,
                                                          tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_bump.py").write_text(
        BUMP_THEN_BLOCKED.replace("UPDATE patients SET name = name || '!'",
                                  "CREATE TABLE stray (id int)"))
    _at(database_url, "0004", root)
    blocker = psycopg.connect(database_url)
    blocker.execute("SELECT count(*) FROM orders, patients")
    try:
        report = commands.upgrade(_settings(root, database_url),
                                  _options(tmp_path, lock_timeout="300ms", retries=1,
                                           backup=False))
    finally:
        blocker.close()

    (failed,) = [f for f in report.findings if f.code == "DBS601"]
    assert dict(failed.context)["Attempts"] == "2"  # the stray table is a leftover: removed
    assert "Committed before it failed" not in dict(failed.context)
    assert "stray" not in _state(database_url)["tables"]


def test_two_upgrades_at_once_the_second_exits_naming_the_holder(database_url: str,
                                                                 tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    # The holder's address: the socket of the suite's own server, an IP over TCP.
    holder = r"pid \d+ from (local socket|[0-9a-f.:]+),"
    with run_lock(database_url), pytest.raises(LockHeld, match=holder):
        commands.upgrade(_settings(root, database_url), _options(tmp_path))
    assert _state(database_url)["version"] == ["0002"]


def test_the_lock_is_free_again_after_a_run(database_url: str) -> None:
    with run_lock(database_url):
        pass
    with run_lock(database_url):
        pass


def test_the_lock_outlives_an_idle_session_timeout_the_database_sets(database_url: str) -> None:
    # The lock's session is idle for the whole run: a database setting idle_session_timeout
    # (PostgreSQL 14+) ended it mid-run, the lock went with it and a second run could start.
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} SET idle_session_timeout = '1s'").format(
            sql.Identifier(admin.info.dbname)))
    with run_lock(database_url):
        time.sleep(3)  # idle past it, as during a revision
        with pytest.raises(LockHeld), run_lock(database_url):
            pass


def test_the_lock_held_on_another_database_is_not_named_as_this_ones(database_url: str) -> None:
    # The lock is per database: a run on another database of the server holds its own, and
    # naming it as this one's holder sent the user after the wrong session.
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from dbsafe.guard.lock import holder

    other = make_conninfo(database_url, dbname="dbsafe_lock_other")
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS dbsafe_lock_other")
        admin.execute("CREATE DATABASE dbsafe_lock_other")
    try:
        with run_lock(other), psycopg.connect(database_url, autocommit=True) as here:
            assert conninfo_to_dict(other)["dbname"] == "dbsafe_lock_other"
            assert holder(here) is None
            with run_lock(database_url):
                pass
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS dbsafe_lock_other WITH (FORCE)")


def test_a_replica_or_unreachable_database_is_exit_2(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    url = "postgresql://app:pw-not-shown@127.0.0.1:1/app"
    with pytest.raises(DbsafeError) as caught:
        commands.upgrade(_settings(root, url), _options(tmp_path))
    assert "could not connect to postgresql://app:***@127.0.0.1:1/app" in str(caught.value)
    assert "pw-not-shown" not in str(caught.value)


def test_no_password_in_output_manifest_or_history(database_url: str, secret_password: str,
                                                   tmp_path: Path) -> None:
    secret = secret_password
    url = database_url + f"&password={secret}"
    root = _project(tmp_path / "p")
    _at(url, "0002", root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    env["DBSAFE_DATABASE_URL"] = url

    proc = subprocess.run(
        [sys.executable, "-m", "dbsafe", "upgrade", "--allow", "DBS202", "-v",
         "--backup-dir", str(tmp_path / "backups"), "--format", "json"],
        cwd=root, env=env, capture_output=True, text=True, check=False)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["outcome"] == "applied"
    assert secret not in proc.stdout and secret not in proc.stderr
    for manifest in (tmp_path / "backups").glob("*.json"):
        assert secret not in manifest.read_text()
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT * FROM dbsafe.history").fetchall()
    assert rows and secret not in repr(rows)


def test_plan_shows_sql_locks_and_sizes_and_changes_nothing(database_url: str,
                                                            tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO orders SELECT g, NULL FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE orders")
    before = _state(database_url)

    report = commands.plan(_settings(root, database_url, shared=True))

    assert _state(database_url) == before
    assert [r["revision"] for r in report.summary["pending"]] == ["0003", "0004"]
    index = [s for s in report.summary["pending"][1]["statements"]
             if s["sql"].startswith("CREATE INDEX CONCURRENTLY")]
    (lock,) = index[0]["locks"]
    assert lock["mode"] == "SHARE UPDATE EXCLUSIVE" and not lock["blocks_writes"]
    assert lock["table_rows"] == 5000 and lock["estimated_seconds"] is not None
    assert "ALTER TABLE patients DROP COLUMN email" in "\n".join(report.summary["lines"])


def test_plan_weighs_a_foreign_key_only_the_database_has(database_url: str,
                                                         tmp_path: Path) -> None:
    # orders' key to patients was made by revision 0002, applied long ago: only the
    # database knows it. Dropping it locks patients too (lint --locks, compared with
    # pg_locks in tests/lint/test_rewrites_pg.py).
    root = _project(tmp_path / "p")
    _at(database_url, "0004", root)
    (root / "migrations" / "versions" / "0005_drop_key.py").write_text(
        '''"""drop the orders -> patients key"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE orders DROP CONSTRAINT orders_patient_id_fkey")
    op.execute("DROP INDEX ix_orders_patient")
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("a", sa.Integer))
        batch.add_column(sa.Column("b", sa.Integer))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("a_name_long_enough_to_be_cut_1", sa.Integer))
        batch.add_column(sa.Column("a_name_long_enough_to_be_cut_2", sa.Integer))
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("a_name_long_enough_to_be_cut_1", type_=sa.BigInteger)
        batch.alter_column("a_name_long_enough_to_be_cut_2", type_=sa.BigInteger)


def downgrade():
    op.execute("ALTER TABLE orders DROP COLUMN a, DROP COLUMN b, "
               "DROP COLUMN a_name_long_enough_to_be_cut_1, "
               "DROP COLUMN a_name_long_enough_to_be_cut_2")
    op.execute("CREATE INDEX ix_orders_patient ON orders (patient_id)")
    op.execute("ALTER TABLE orders ADD FOREIGN KEY (patient_id) REFERENCES patients")
''')
    (root / "migrations" / "versions" / "0006_after.py").write_text(_NO_DOWNGRADE.format(
        doc="after the target", revision="0006", down="0005",
        sql="CREATE TABLE after_target (id int)"))
    report = commands.plan(_settings(root, database_url), "0005")
    statement, drop_index, *batch = report.summary["pending"][0]["statements"]
    locked = {lock["relation"].removeprefix("public."): lock["mode"]
              for lock in statement["locks"]}
    assert locked == {"orders": "ACCESS EXCLUSIVE", "patients": "ACCESS EXCLUSIVE"}
    # DROP INDEX locks its table, which the reads and writes wait on (airflow's plan named
    # only the index, 2026-12-06); the table is known from the database.
    assert [(lock["relation"], lock["mode"], lock["table_rows"] is not None)
            for lock in drop_index["locks"]] == [
        ("ix_orders_patient", "ACCESS EXCLUSIVE", False),
        ("public.orders", "ACCESS EXCLUSIVE", True)]
    # The batch's two statements share its `with` line: each shows its own lock once
    # (airflow's, 2026-12-06: each showed both), also two whose text is cut at the same
    # 60 characters (the first showed both, the second none)
    assert [len(s["locks"]) for s in batch] == [1, 1, 1, 1, 1, 1]
    # Only what `upgrade 0005` applies is linted, as its preflight lints: 0006 was too,
    # its findings dropped (the time of its capture lost)
    assert report.summary["linted_revisions"] == ["0005"]


def test_plan_indents_a_multi_line_statement_under_its_revision(database_url: str,
                                                                 tmp_path: Path) -> None:
    # (task 475: Open-Assistant's CREATE TABLEs showed their columns and `)` at column 0)
    root = _project(tmp_path / "p")
    _at(database_url, "0004", root)
    (root / "migrations" / "versions" / "0005_notes.py").write_text(
        '''"""notes"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.create_table("notes", sa.Column("id", sa.BigInteger, primary_key=True),
                    sa.Column("body", sa.Text))
''')
    lines = commands.plan(_settings(root, database_url)).summary["lines"]
    assert isinstance(lines, list)
    at = lines.index("0005  notes")
    assert lines[at + 1:at + 6] == ["  CREATE TABLE notes (", "      id BIGSERIAL NOT NULL,",
                                    "      body TEXT,", "      PRIMARY KEY (id)", "  )"], lines


def test_status_accepts_a_sqlalchemy_url(database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    report = commands.status(_settings(root, url), fail_on_pending=True)
    assert report.summary["current"] == ["0002"]
    assert [f.code for f in report.findings] == ["DBS606"]


def test_status_of_tables_no_alembic_version_accounts_for_is_an_error(
        database_url: str, tmp_path: Path) -> None:
    # "base" is true of a new database, and of one downgraded to base (its version table
    # empty); tables made without alembic_version (create_all, never stamped) are not at
    # base: every revision would run again.
    root = _project(tmp_path / "p")
    assert commands.status(_settings(root, database_url)).summary["current"] == []
    _at(database_url, "0002", root)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM alembic_version")
    assert commands.status(_settings(root, database_url)).summary["current"] == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE alembic_version")
    with pytest.raises(DbsafeError, match=r"holds 2 table\(s\) \(public\.orders, \.\.\.\) "
                                          r"but no alembic_version table"):
        commands.status(_settings(root, database_url))


def test_status_names_an_applied_revision_edited_afterwards(database_url: str,
                                                            tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    report = commands.upgrade(_settings(root, database_url, shared=True), _options(tmp_path, backup=False))
    assert report.summary["outcome"] == "applied"
    revision = root / "migrations" / "versions" / "0004_index.py"
    revision.write_text(revision.read_text().replace('"ix_orders_patient"', '"ix_renamed"'))

    status = commands.status(_settings(root, database_url, shared=True))

    (edited,) = status.findings
    assert (edited.code, edited.subject) == ("DBS605", "0004")


def test_an_applied_revision_reformatted_is_not_an_edit(database_url: str,
                                                        tmp_path: Path) -> None:
    """A docstring, a comment or formatting changed after dbsafe applied the revision is
    what `dbsafe verify-lock` lets pass (the syntax tree is the same): no DBS605 in
    `status` nor in `verify-lock --database-url`, which said "edited after dbsafe applied
    it" of argilla-server's revision whose `Create Date:` alone changed."""
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    report = commands.upgrade(_settings(root, database_url, shared=True), _options(tmp_path, backup=False))
    assert report.summary["outcome"] == "applied"
    settings = _settings(root, database_url, shared=True)
    commands.lock(settings)
    revision = root / "migrations" / "versions" / "0004_index.py"
    text = revision.read_text()
    docstring = '"""index orders.patient_id concurrently"""'
    assert docstring in text
    revision.write_text(text.replace(
        docstring, '"""Index orders.patient_id concurrently.\n\nCreate Date: 2020-01-01\n"""\n'
                   "# reformatted").replace("\n\n\ndef ", "\n\n\n\ndef "))

    assert commands.status(settings).findings == ()
    assert commands.verify_lock(settings).findings == ()

    revision.write_text(text.replace('"ix_orders_patient"', '"ix_renamed"'))
    assert [(f.code, f.subject) for f in commands.status(settings).findings] == [
        ("DBS605", "0004")]


def test_a_revision_edited_after_a_downgrade_undid_it_is_pending_not_edited(
        database_url: str, tmp_path: Path) -> None:
    """A revision dbsafe applied, then downgraded, is pending again: editing it before it
    is applied anew is no edit of the database's history (CTFd's 336b8c601b94, its
    `downgrade()` fixed to name the constraint it drops, then downgraded through: `status`
    said DBS605, an error, "Applied revisions are history", until the next upgrade). An
    applied revision below it edited is still DBS605."""
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    settings = _settings(root, database_url, shared=True)
    report = commands.upgrade(settings, _options(tmp_path, backup=False))
    assert report.summary["outcome"] == "applied"
    commands.lock(settings)
    down = commands.downgrade(settings, DowngradeOptions(target="0003", backup=False,
                                                         yes=True, retry_delay=0.05))
    assert down.summary["outcome"] == "downgraded", down.summary["what_happened"]
    undone = root / "migrations" / "versions" / "0004_index.py"
    undone.write_text(undone.read_text().replace('"ix_orders_patient"', '"ix_renamed"'))
    commands.lock(settings)  # the edit locked: only DBS605 could fail verify-lock

    assert commands.status(settings).findings == ()
    assert commands.verify_lock(settings).findings == ()

    applied = root / "migrations" / "versions" / "0003_drop_email.py"
    applied.write_text(applied.read_text() + "\nEDITED = True\n")
    commands.lock(settings)
    assert [(f.code, f.subject) for f in commands.status(settings).findings] == [
        ("DBS605", "0003")]
    assert [(f.code, f.subject) for f in commands.verify_lock(settings).findings] == [
        ("DBS605", "0003")]


def test_a_first_deploy_rolled_back_to_base_is_rolled_back_not_failed(
        database_url: str, tmp_path: Path) -> None:
    """The version table alembic created stays (empty) at base: bookkeeping, not a
    difference from the empty database the upgrade started from."""
    root = _project(tmp_path / "p")
    with psycopg.connect(database_url) as conn:
        here = conn.execute("SELECT current_database()").fetchone()[0]
    # Fails on this database only, as a revision meeting production's data would: not on
    # the throwaway server that previews it.
    (root / "migrations" / "versions" / "0005_only_here.py").write_text(f'''"""fails here"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("DO $$ BEGIN IF current_database() = '{here}' THEN "
               "RAISE EXCEPTION 'not on this database'; END IF; END $$")


def downgrade():
    op.execute("SELECT 1")
''')
    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, allow=("DBS202", "DBS117")))

    assert report.summary["outcome"] == "rolled back", [
        (f.code, f.message) for f in report.findings]
    assert not [f for f in report.findings if f.code == "DBS603"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('patients')").fetchone() == (None,)


def test_an_upgrade_whose_preflight_cannot_lint_is_exit_2_and_says_why(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "refused: see the findings" with none to see: env.py reaching for another
    database stops the preview on the throwaway server, and the upgrade with it."""
    from dbsafe.core import DbsafeError

    root = _project(tmp_path / "p")
    env = root / "migrations" / "env.py"  # a raw connection of its own, as it is imported
    env.write_text('import os, psycopg\npsycopg.connect(os.environ["APP_DB_URL"]).close()\n'
                   + env.read_text())
    monkeypatch.setenv("APP_DB_URL", database_url)
    with pytest.raises(DbsafeError) as error:
        commands.upgrade(_settings(root, database_url),
                         _options(tmp_path, allow=("DBS202", "DBS117")))
    message = str(error.value)
    assert message.startswith("preflight could not lint the pending revisions: ")
    assert "refused: psycopg.Connection.connect() tried to connect to " in message
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)


def test_pending_revisions_no_lint_run_reached_refuse_the_upgrade(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's env.py runs only under its own CLI, and offline rendering stops at a 2022
    revision reading the database: lint read no pending revision, and the DBS005 saying so
    was on an applied file, left out. The preflight said "the pending revisions pass"."""
    root = _project(tmp_path / "p")
    orders = root / "migrations" / "versions" / "0002_orders.py"
    orders.write_text(orders.read_text().replace(
        "def upgrade():\n", "def upgrade():\n    if op.get_context().as_sql:\n"
        "        raise RuntimeError('reads the database')\n"))
    _at(database_url, "0002", root)
    env = root / "migrations" / "env.py"
    env.write_text(env.read_text() + "\nif not context.is_offline_mode():\n"
                   "    raise RuntimeError('runs only under its own CLI')\n")
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, allow=("DBS202", "DBS117")),
                              lambda step, message: steps.append(message))

    assert report.summary["outcome"] == "refused"
    assert "lint: the pending revisions pass" not in steps
    assert "lint: 2 of the 2 pending revision(s) were not linted (0003, 0004): see DBS005" in steps
    (not_linted,) = [f for f in report.findings if f.code == "DBS005"]
    assert not_linted.severity is Severity.ERROR and "revisions after it were not linted" in \
        not_linted.message
    assert _state(database_url)["version"] == ["0002"]


def test_plan_shows_the_revisions_before_one_that_reads_the_database(database_url: str,
                                                                     tmp_path: Path) -> None:
    """Offline rendering stops at a revision that reads the database: the pending ones
    before it keep their SQL, and it says why it has none."""
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_reads.py").write_text('''"""reads the database"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.get_bind().exec_driver_sql("SELECT 1")


def downgrade():
    op.execute("SELECT 1")
''')
    _at(database_url, "0002", root)

    report = commands.plan(_settings(root, database_url))

    pending = {r["revision"]: r for r in report.summary["pending"]}
    assert list(pending) == ["0003", "0004", "0005"]
    assert pending["0003"]["statements"] and pending["0004"]["statements"]
    assert [pending[r]["sql_from"] for r in pending] == ["offline", "offline",
                                                          "captured_on_schema_copy"]
    # What 0005 ran as the plan's lint ran it on a throwaway server (task 407: none shown)
    assert [s["sql"] for s in pending["0005"]["statements"]] == ["SELECT 1"]
    assert "cannot be rendered offline" in pending["0005"]["not_rendered"]
    (shown,) = [line for line in report.summary["lines"]
                if line.startswith("  (SQL captured as it ran on a throwaway copy of the "
                                   "database's schema, not rendered offline: it cannot be "
                                   "rendered offline")]
    # The plan's lint ran 0005 on a throwaway server: its line must not say it was not
    # linted, nor send the DBA to lint without an --offline the plan never passed.
    assert "0005" in report.summary["linted_revisions"]
    assert "not linted" not in shown and "--offline" not in shown
    assert shown.endswith("a revision that branches on the data may run otherwise on the "
                          "database)")


def test_plan_of_a_project_whose_env_py_cannot_render_offline_shows_the_sql_they_ran(
        database_url: str, tmp_path: Path) -> None:
    """An env.py with no offline branch (fractal-server's opens its own engine whatever
    the mode) renders nothing offline: the plan shows, for each pending revision, the SQL
    its lint ran on a throwaway copy of the database's schema, said so, with the locks,
    sizes and estimates rendered SQL gets. It was exit 2 (`alembic could not render the
    migrations offline`) and no plan; then every revision `no SQL shown` (task 401)."""
    root = tmp_path / "p"
    write_project(root, "online_only", ini_url="postgresql+psycopg://app@localhost:1/app")
    _at(database_url, "0002", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO orders SELECT g, NULL FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE orders")

    report = commands.plan(_settings(root, database_url))

    pending = {r["revision"]: r for r in report.summary["pending"]}
    assert list(pending) == ["0003", "0004"]
    assert all("env.py cannot render offline" in r["not_rendered"] for r in pending.values())
    assert "env.py tried to connect" in pending["0003"]["not_rendered"]
    assert [r["sql_from"] for r in pending.values()] == ["captured_on_schema_copy"] * 2
    assert [s["sql"] for s in pending["0003"]["statements"]] == [
        "ALTER TABLE patients DROP COLUMN email"]
    (index,) = pending["0004"]["statements"]
    assert index["sql"].startswith("CREATE INDEX CONCURRENTLY ix_orders_patient ON orders")
    (lock,) = index["locks"]
    assert lock["mode"] == "SHARE UPDATE EXCLUSIVE" and not lock["blocks_writes"]
    (drop,) = pending["0003"]["statements"][0]["locks"]
    assert (drop["mode"], drop["source"]) == ("ACCESS EXCLUSIVE", "observed")
    assert lock["table_rows"] == 5000 and lock["estimated_seconds"] is not None
    assert report.summary["linted_revisions"] == ["0003", "0004"]
    assert "DBS202" in {f.code for f in report.findings}  # 0003 drops patients.email
    lines = report.summary["lines"]
    said = [line for line in lines if line.startswith("  (SQL captured")]
    assert len(said) == 2 and "tried to connect" in said[0], lines
    assert said[1] == ("  (SQL captured as it ran on a throwaway copy of the database's schema, "
                       "not rendered offline: the project's env.py cannot render offline "
                       "(above); a revision that branches on the data may run otherwise on "
                       "the database)")
    assert lines[lines.index(said[0]) + 1] == "  ALTER TABLE patients DROP COLUMN email"
    assert "held ~" in lines[lines.index(said[1]) + 2]  # the index build's, from its size
    out = json.loads(render(report, "json", commands.catalog()))
    assert [r["sql_from"] for r in out["summary"]["pending"]] == ["captured_on_schema_copy"] * 2
    assert _state(database_url)["version"] == ["0002"]


def test_a_relative_target_upgrades_that_many_revisions(database_url: str,
                                                        tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    report = commands.upgrade(_settings(root, database_url, shared=True),
                              _options(tmp_path, target="+1", backup=False))
    assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    assert report.summary["applied"] == ["0003"]
    assert _state(database_url)["version"] == ["0003"]


# A second branch from 0003: the history then has two heads, 0004 and 0004b.
BRANCH = '''"""second head"""
from alembic import op

revision = "0004b"
down_revision = "0003"


def upgrade():
    op.execute("CREATE TABLE branch_b (id bigint PRIMARY KEY)")


def downgrade():
    op.execute("DROP TABLE branch_b")
'''


def test_a_history_with_two_heads_needs_a_target_and_applies_a_branch_as_one(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0004b_branch.py").write_text(BRANCH)
    _at(database_url, "0004", root)
    settings = _settings(root, database_url)

    with pytest.raises(DbsafeError, match=r"2 heads .*merge them"):
        commands.upgrade(settings, _options(tmp_path, backup=False))
    assert _state(database_url)["version"] == ["0004"]

    # Upgraded to the other head, the database holds both heads: that is success, and the
    # new revision's table stays (it was removed, and the revision left stamped).
    report = commands.upgrade(settings, _options(tmp_path, target="0004b", backup=False))
    assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    state = _state(database_url)
    assert state["version"] == ["0004", "0004b"] and "branch_b" in state["tables"]
    assert commands.upgrade(settings, _options(tmp_path, target="heads", backup=False)) \
        .summary["outcome"] == "up to date"


# Commits, and leaves alembic_version holding a revision besides its own: the check after
# the run fails once the revision is recorded.
RECORDED_THEN_WRONG = '''"""recorded, then wrong"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE TABLE invoices (id bigint PRIMARY KEY)")
    op.execute("INSERT INTO alembic_version VALUES ('0001')")


def downgrade():
    op.execute("DROP TABLE invoices")
'''


def test_a_revision_recorded_before_the_run_failed_keeps_what_it_made(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_recorded.py").write_text(RECORDED_THEN_WRONG)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada')")  # 0006 fails

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path, backup=False))

    assert report.summary["outcome"] != "applied"
    (failed,) = [f for f in report.findings if f.code == "DBS601" and f.subject == "0005"]
    assert "recorded as applied" in failed.message
    assert "Removed leftovers" not in dict(failed.context)
    state = _state(database_url)
    # Never a revision recorded with its table removed behind alembic's back.
    assert ("0005" in state["version"]) == ("invoices" in state["tables"]), state


def test_a_target_below_the_database_or_a_revision_not_in_the_history_is_refused(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0003", root)
    settings = _settings(root, database_url)
    with pytest.raises(DbsafeError, match=r"0001 is below .*dbsafe downgrade 0001"):
        commands.upgrade(settings, _options(tmp_path, target="0001", backup=False))
    assert _state(database_url)["version"] == ["0003"]

    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'zzz'")
    with pytest.raises(DbsafeError, match="zzz, which is not in this history"):
        commands.status(settings)


def test_too_little_room_for_the_backup_is_a_finding_and_changes_nothing(
        database_url: str, tmp_path: Path, small_filesystem: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    before = _state(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}

    proc = subprocess.run(
        [sys.executable, "-m", "dbsafe", "upgrade", "--allow", "DBS202", "--format", "json",
         "--backup-dir", str(small_filesystem / "backups")],
        cwd=root, env={**env, "DBSAFE_DATABASE_URL": database_url,
                       "DBSAFE_CACHE_DIR": str(_SHARED_LINT[-1])},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)

    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    (short,) = [f for f in report["findings"] if f["code"] == "DBS610"]
    assert short["severity"] == "error"
    assert short["message"].startswith(f"1 MiB free in {small_filesystem / 'backups'}; the "
                                       "backup may need up to ")
    assert "--no-backup" in short["help"]
    assert report["summary"]["outcome"] == "refused"
    assert _state(database_url) == before
    assert not any(small_filesystem.iterdir())

    # Without a backup there is nothing to make room for.
    applied = commands.upgrade(_settings(root, database_url, shared=True), _options(
        tmp_path, backup=False, backup_dir=small_filesystem / "backups"))
    assert applied.summary["outcome"] == "applied"
    assert "DBS610" not in [f.code for f in applied.findings]


def test_a_backup_dir_that_cannot_be_made_is_said_before_anything_runs(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    (tmp_path / "a_file").write_text("")
    before = _state(database_url)
    settings = _settings(root, database_url, shared=True)

    with pytest.raises(DbsafeError, match=r"backup directory .*a_file is not a directory"):
        commands.upgrade(settings, _options(tmp_path, backup_dir=tmp_path / "a_file" / "b"))
    with pytest.raises(DbsafeError, match="cannot create the backup directory"):
        commands.backup(settings, tmp_path / "a_file" / "b")

    assert _state(database_url) == before
    assert commands.status(settings).summary["history"] == []


# Each revision applies without error but leaves what a postflight check (POSTFLIGHT_CHECKS)
# reports as an error: a partitioned index built ON ONLY the parent (invalid until every
# partition's index is attached), and a materialized view no unique index lets refresh
# CONCURRENTLY.
POSTFLIGHT_FAILS = {
    "DBS501": ("public.events_at_idx", '''
def upgrade():
    op.execute("CREATE TABLE events (id int, at date) PARTITION BY RANGE (at)")
    op.execute("CREATE TABLE events_2026 PARTITION OF events "
               "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')")
    op.execute("CREATE INDEX events_at_idx ON ONLY events (at)")  # no partition's attached


def downgrade():
    op.execute("DROP TABLE events")
'''),
    "DBS502": ("public.patient_names", '''
def upgrade():
    op.execute("CREATE MATERIALIZED VIEW patient_names AS SELECT id, name FROM patients")


def downgrade():
    op.execute("DROP MATERIALIZED VIEW patient_names")
'''),
}


@pytest.mark.parametrize("code", sorted(POSTFLIGHT_FAILS))
def test_a_revision_leaving_what_a_postflight_check_reports_is_rolled_back(
        code: str, database_url: str, tmp_path: Path) -> None:
    subject, body = POSTFLIGHT_FAILS[code]
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_postflight.py").write_text(
        '"""postflight"""\nfrom alembic import op\n\nrevision = "0005"\n'
        'down_revision = "0004"\n' + body)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada')")
    before = _state(database_url)

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, allow=("DBS118",)))
    assert report.summary["outcome"] == "rolled back"
    assert [(f.subject, f.severity) for f in report.findings if f.code == code] == [
        (subject, Severity.ERROR)]
    assert _state(database_url) == before


def test_a_problem_a_postflight_check_finds_before_the_upgrade_does_not_fail_it(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _at(database_url, "0003", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE MATERIALIZED VIEW patient_names AS SELECT id, name FROM patients")

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path, backup=False))

    assert report.summary["outcome"] == "applied"
    assert _state(database_url)["version"] == ["0004"]


def test_what_a_postflight_check_could_not_look_at_is_said(database_url: str,
                                                          tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    (root / "checks").mkdir()
    (root / "checks" / "audit_readable.sql").write_text(
        "-- dbsafe:check DBS560 audit-readable\n-- severity: error\n-- since: 0.1.0\n"
        "-- summary: Audit rows are readable.\n-- help: Read them.\n--\n"
        "SELECT NULL AS subject, NULL AS message, 'the audit rows are elsewhere' AS not_checked\n")
    _at(database_url, "0003", root)

    report = commands.upgrade(_settings(root, database_url, **{"check-paths": ["checks"]}),
                              _options(tmp_path, backup=False))

    assert report.summary["outcome"] == "applied", report.findings
    assert ("postflight: warning: DBS560 audit-readable not checked: the audit rows are "
            "elsewhere") in report.summary["what_happened"]


def test_an_app_query_failing_the_same_way_before_the_upgrade_does_not_fail_it(
        database_url: str, tmp_path: Path) -> None:
    # keep's (keephq) providers query the databases keep watches ("select * from disk"):
    # an error before the upgrade as after it, which rolled every upgrade back (DBS604).
    # A query the upgrade breaks (0003 drops patients.email) still fails it.
    root = _project(tmp_path / "p", app_sql="SELECT size FROM disk;\n")
    _at(database_url, "0002", root)

    report = commands.upgrade(_settings(root, database_url, shared=True), _options(tmp_path, backup=False))

    assert report.summary["outcome"] == "applied", report.findings
    assert [f.code for f in report.findings] == ["DBS202"]
    apply(AlembicProject(root / "alembic.ini"), database_url, [("downgrade", "0002")])
    (root / "app" / "queries.sql").write_text("SELECT size FROM disk;\n"
                                              "SELECT email FROM patients;\n")

    report = commands.upgrade(_settings(root, database_url, shared=True),
                              _options(tmp_path, allow=("DBS117", "DBS202", "DBS211")))

    assert report.summary["outcome"] == "rolled back"
    assert [(f.code, f.location.line) for f in report.findings
            if f.code.startswith("DBS30") and f.location] == [("DBS302", 2)]


def test_a_new_database_is_not_refused_over_changes_to_tables_the_upgrade_creates(
        database_url: str, tmp_path: Path) -> None:
    # 0003 drops patients.email, which 0001 of the same run creates: nothing deployed can
    # be reading a table the database does not have yet, so it is no reason to refuse.
    root = _project(tmp_path / "p")

    # (0002's foreign key without an index, which 0004 adds, stays a warning: it outlives
    # the run.)
    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, allow=("DBS117",), backup=False))

    assert report.summary["outcome"] == "applied"
    assert report.summary["applied"] == ["0001", "0002", "0003", "0004"]
    (dropped,) = [f for f in report.findings if f.code == "DBS202"]
    assert dropped.severity is Severity.NOTE
    assert dict(dropped.context)["Table size"] == "none yet: a migration linted here creates it"


# FlexMeasures has thirteen merge revisions; each was DBS602 ("downgrade() does nothing, so a
# failed upgrade could not be rolled back") though its upgrade does nothing either.
VISITS_BRANCH = '''"""a branch"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("CREATE TABLE visits (id int)")


def downgrade():
    op.execute("DROP TABLE visits")
'''
MERGE_BOTH = '''"""merge"""
revision = "0006"
down_revision = ("0005", "0004b")


def upgrade():
    pass


def downgrade():
    pass
'''
ROOMS_BRANCH = VISITS_BRANCH.replace('"0005"', '"0004b"').replace("visits", "rooms")


def test_a_merge_revision_is_not_irreversible_and_a_failure_after_it_rolls_back(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "0005_branch.py").write_text(VISITS_BRANCH)
    (versions / "0004b_other.py").write_text(ROOMS_BRANCH)
    (versions / "0006_merge.py").write_text(MERGE_BOTH)
    (versions / "0007_half_way.py").write_text(
        HALF_WAY.replace('"0005"', '"0007"').replace('"0004"', '"0006"'))
    _at(database_url, "0002", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada', 'a@example.org'), "
                     "(2, 'Ada', 'b@example.org')")
    before = _state(database_url)

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path))

    assert "DBS602" not in {f.code for f in report.findings}
    # 0007 fails, and only 0007: 0004b, applied after 0005, leaves the database at both
    # branches' revisions, as alembic does (FlexMeasures' db00b66be82c beside 5d39829d91af)
    assert [f.subject for f in report.findings if f.code == "DBS601"] == ["0007"]
    assert report.summary["outcome"] == "rolled back"  # back through the merge
    assert _state(database_url) == before


# ihatemoney's three data migrations (and Mailu's) have an empty downgrade(): each was DBS602,
# refusing the whole upgrade, though going back through them leaves the schema as it was.
CHANGES_ONLY = '''"""{title}"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("{sql}")


def downgrade():
    pass
'''


@pytest.mark.parametrize(("sql", "irreversible"), [
    ("UPDATE patients SET name = upper(name)", False),
    ("ALTER TABLE patients ADD COLUMN nickname text", True),
    # Superset's MySQL-only revisions, Langflow's eb5866d51fd2: nothing runs on PostgreSQL
    (None, False),
], ids=["changes-rows", "changes-schema", "runs-nothing"])
def test_an_empty_downgrade_is_a_way_back_only_from_a_revision_that_changes_no_schema(
        database_url: str, tmp_path: Path, sql: str, irreversible: bool) -> None:
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "0005_changes.py").write_text(
        CHANGES_ONLY.format(title=sql, sql=sql) if sql else CHANGES_ONLY.format(
            title="mysql only", sql="").replace(
            '    op.execute("")', '    if op.get_bind().dialect.name == "mysql":\n'
                                  '        op.execute("ALTER TABLE patients ENGINE=InnoDB")'))
    (versions / "0006_half_way.py").write_text(
        HALF_WAY.replace('"0005"', '"0006"').replace('"0004"', '"0005"'))
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients (id, name) VALUES (1, 'Ada'), (2, 'Ada')")
    before = _state(database_url)
    steps: list[str] = []

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path),
                              progress=lambda step, text: steps.append(f"{step}: {text}"))

    refused = [f for f in report.findings if f.code == "DBS602"]
    if irreversible:
        assert [f.subject for f in refused] == ["0005"]
        assert report.summary["outcome"] == "refused"
        assert _state(database_url) == before
        return
    assert refused == []
    # 0006 fails (two patients named ADA); the way back goes through 0005's empty downgrade
    assert [f.subject for f in report.findings if f.code == "DBS601"] == ["0006"]
    assert report.summary["outcome"] == "rolled back"
    assert _state(database_url) == before  # the schema and revision as they were ...
    with psycopg.connect(database_url) as conn:  # ... and the rows 0005 changed, changed
        assert conn.execute("SELECT name FROM patients ORDER BY id").fetchall() == [
            ("ADA",) if sql else ("Ada",)] * 2
    # Said as it stands: rows compared equal (0005 ran nothing) are not "the rows it
    # changed stay" (Prefect's c8d5f2a71b3e, which only rebuilds an index).
    said = ("way back: the rows 0005 changed stay" if sql else
            "way back: 0005: downgrade() empty; rows it changed in tables not compared above")
    assert any(s.startswith(said) and "dbsafe restore" in s for s in steps), steps
    assert sql or not any("the rows 0005 changed stay" in s for s in steps), steps


# Revision 0005 commits a column (autocommit_block), then waits for a lock on `orders`.
COLUMN_THEN_BLOCKED = '''"""column then blocked"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE patients ADD COLUMN flag int")
    op.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")


def downgrade():
    op.execute("ALTER TABLE patients DROP COLUMN flag")
'''

_WAITS = """
SELECT l.relation::regclass::text, extract(epoch FROM clock_timestamp() - l.waitstart)
FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE NOT l.granted AND l.waitstart IS NOT NULL AND a.application_name LIKE 'dbsafe%%'
"""


def test_removing_what_a_failed_attempt_left_waits_no_longer_than_lock_timeout(
        database_url: str, tmp_path: Path) -> None:
    """The column the failed attempt committed is dropped with the run's --lock-timeout:
    its ACCESS EXCLUSIVE request queues the table's writers no longer than each attempt's."""
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_flag.py").write_text(COLUMN_THEN_BLOCKED)
    _at(database_url, "0004", root)
    on_orders = psycopg.connect(database_url)
    on_orders.execute("SELECT count(*) FROM orders")  # ACCESS SHARE until closed
    longest: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        # Once the attempt waits for `orders` (its column committed), a reader of `patients`
        # stays in its transaction: the column's removal waits for it.
        with psycopg.connect(database_url, autocommit=True) as conn, \
                psycopg.connect(database_url) as on_patients:
            while not stop.is_set():
                for relation, waited in conn.execute(_WAITS).fetchall():
                    longest[relation] = max(longest.get(relation, 0.0), float(waited))
                    if relation == "orders" and on_patients.info.transaction_status.name == "IDLE":
                        on_patients.execute("SELECT count(*) FROM patients")
                stop.wait(0.05)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        report = commands.upgrade(_settings(root, database_url),
                                  _options(tmp_path, lock_timeout="1s", retries=0,
                                           backup=False))
    finally:
        stop.set()
        thread.join()
        on_orders.close()

    assert report.summary["outcome"] == "failed"
    assert "patients" in longest, longest  # the removal did wait for the reader
    assert longest["patients"] < 3, longest  # 1 s, not the 5 s default
    assert any("could not remove what the failed attempt left: column public.patients.flag"
               in line for line in report.summary["what_happened"])


# 0002 makes table b; 0003 fails on the database under test (whose own settings say so:
# not on the throwaway the preflight lints the history on), so the way back drops b.
_WAY_BACK_BLOCKED = {
    "0001_a.py": ("0001", None, 'op.execute("CREATE TABLE a (id bigint PRIMARY KEY)")',
                  'op.execute("DROP TABLE a")'),
    "0002_b.py": ("0002", "0001", 'op.execute("CREATE TABLE b (id bigint PRIMARY KEY)")',
                  'op.execute("DROP TABLE b")'),
    "0003_fails.py": ("0003", "0002",
                      'op.execute("CREATE TABLE c (id bigint PRIMARY KEY)")\n    op.execute('
                      '"SELECT current_setting(\'dbsafe_test.fail\', true)::int")',
                      'op.execute("DROP TABLE c")'),
}


def _way_back_blocked(root: Path, url: str) -> None:
    write_project(root, "well_behaved")
    (root / "app" / "queries.sql").write_text("SELECT id FROM a;\n")
    versions = root / "migrations" / "versions"
    for path in versions.glob("*.py"):
        path.unlink()
    for name, (revision, down, up, down_body) in _WAY_BACK_BLOCKED.items():
        (versions / name).write_text(
            f'"""{name}"""\nfrom alembic import op\n\nrevision = "{revision}"\n'
            f"down_revision = {down!r}\n\n\ndef upgrade():\n    {up}\n\n\n"
            f"def downgrade():\n    {down_body}\n")
    _at(url, "0001", root)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET dbsafe_test.fail = 'on'").format(
            sql.Identifier(conn.info.dbname)))


@pytest.mark.parametrize("holder_leaves", [False, True])
def test_a_way_back_blocked_by_a_lock_names_the_holder_and_retries(
        database_url: str, tmp_path: Path, holder_leaves: bool) -> None:
    """0003 fails, and the way back's DROP TABLE b waits for a report reading b since 0002
    made it: as `dbsafe downgrade` does, the lock timeout is retried with backoff, each retry
    and the give-up naming the report's session (55P03 names no one). A holder that leaves
    is waited out and the run rolls back; one that stays fails the way back, which says the
    database is at 0002. Before, the way back gave up at the first lock timeout, naming
    nobody."""
    root = tmp_path / "p"
    _way_back_blocked(root, database_url)
    holder = psycopg.connect(database_url, application_name="nightly-report")
    steps: list[str] = []

    def progress(step: str, text: str) -> None:
        steps.append(f"{step}: {text}")
        if step == "apply" and text.startswith("0002 applied"):
            holder.execute("SELECT count(*) FROM b WHERE id <> 4242")
        if holder_leaves and step == "way back" and "retrying in" in text:
            holder.rollback()

    try:
        result = commands.upgrade(_settings(root, database_url),
                                  _options(tmp_path, lock_timeout="300ms", retries=2,
                                           backup=not holder_leaves), progress=progress)
    finally:
        pid = holder.info.backend_pid
        holder.close()

    story = "\n".join(steps)
    named = f"blocked by pid {pid} (application_name 'nightly-report'"
    retries = [s for s in steps if s.startswith("way back:") and "retrying in" in s]
    assert retries and named in retries[0], story
    assert "ACCESS SHARE on public.b" in retries[0] and "at 0002" in retries[0], story
    if holder_leaves:
        assert result.summary["outcome"] == "rolled back", story
        assert _state_of(database_url) == (["0001"], ["a", "alembic_version"])
    else:
        assert result.summary["outcome"] == "failed", story
        (gave_up,) = [s for s in steps if "rollback failed" in s]
        assert named in gave_up and "the database is at 0002" in gave_up, gave_up
        (failed,) = [f for f in result.findings if f.message.startswith("The rollback failed")]
        assert dict(failed.context)["Blocked by"].startswith(f"pid {pid} ("), failed.context
        # The database itself as it was (a restore without --replace makes a copy beside it).
        replace = restore_hint(result.summary["backup"], database_url, "--replace")
        assert gave_up.endswith(f"; to restore: {replace}") and replace in (failed.help or "")
        assert _state_of(database_url) == (["0002"], ["a", "alembic_version", "b"])
    assert "4242" not in story


def _state_of(url: str) -> tuple[list[str], list[str]]:
    with psycopg.connect(url) as conn:
        return ([r[0] for r in conn.execute("SELECT version_num FROM alembic_version")],
                sorted(r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))


# Two revisions making tables with one ENUM, as optuna's v0.9.0.a and v2.4.0.a do: SQLAlchemy
# creates `mood` with the first table and, within one alembic command, remembers it (the
# migration context's `impl.memo`) and sends no second CREATE TYPE for the other.
ENUM_TABLE = '''"""{table}"""
from alembic import op
import sqlalchemy as sa

revision = "{revision}"
down_revision = "{down}"


def upgrade():
    op.create_table("{table}", sa.Column("id", sa.BigInteger, primary_key=True),
                    sa.Column("mood", sa.Enum("calm", "cross", name="mood")))


def downgrade():
    op.drop_table("{table}")
    {drop_type}
'''


def test_revisions_sharing_an_enum_apply_as_one_alembic_command_applies_them(
        database_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    versions = root / "migrations" / "versions"
    (versions / "0005_moods.py").write_text(ENUM_TABLE.format(
        table="moods", revision="0005", down="0004", drop_type='op.execute("DROP TYPE mood")'))
    (versions / "0006_moods_again.py").write_text(ENUM_TABLE.format(
        table="moods_again", revision="0006", down="0005", drop_type=""))
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname",
                                           sqlalchemy_url(database_url, "psycopg")))
    _at(database_url, "0004", root)

    def alembic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), *args],
                              cwd=root, capture_output=True, text=True, check=False)

    # alembic itself: one command applies both, and undoes both; one command per revision
    # fails on the second (42710, duplicate_object).
    assert alembic("upgrade", "0006").returncode == 0
    assert alembic("downgrade", "0004").returncode == 0
    assert alembic("upgrade", "0005").returncode == 0
    second = alembic("upgrade", "0006")
    assert second.returncode != 0 and 'type "mood" already exists' in second.stderr
    assert alembic("downgrade", "0004").returncode == 0

    settings = _settings(root, database_url)
    report = commands.upgrade(settings, _options(tmp_path, backup=False))
    assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    assert _state(database_url)["version"] == ["0006"]
    down = commands.downgrade(settings, DowngradeOptions(target="0004", backup=False,
                                                         yes=True, retry_delay=0.05))
    assert down.summary["outcome"] == "downgraded", down.summary["what_happened"]
    report = commands.upgrade(settings, _options(tmp_path, backup=False))
    assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_type WHERE typname = 'mood'"
                            ).fetchone() == (1,)


def test_the_preflight_says_what_of_the_databases_schema_the_throwaway_could_not_make(
        database_url: str, tmp_path: Path, extension_dir: Path) -> None:
    """quetz's `channels` uses an ICU collation the embedded server cannot make: the
    revisions altering it failed on the copy of the schema with `relation "channels" does
    not exist` (DBS005), and the upgrade said nothing of why. Here an extension only the
    database's server has stands for it."""
    with psycopg.connect(database_url) as conn:
        if conn.info.server_version < 180000:
            pytest.skip("needs PostgreSQL 18 (extension_control_path) as the suite's server")
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_coded.py").write_text('''"""coded.note"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE coded ADD COLUMN note text")


def downgrade():
    op.execute("ALTER TABLE coded DROP COLUMN note")
''')
    _at(database_url, "0004", root)
    # A session of the test's own stays open over the upgrade, as the `postgresql`
    # fixture's did (_at ended that one).
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET extension_control_path = {}").format(
            sql.Literal(f"$system:{extension_dir}")))
        conn.execute("CREATE EXTENSION dbsafe_probe")
        conn.execute("CREATE TABLE coded (id bigint, code probe_code)")
        said: list[str] = []

        report = commands.upgrade(_settings(root, database_url),
                                  _options(tmp_path, backup=False, dry_run=True,
                                           lock_timeout="10min"),
                                  lambda step, message: said.append(f"{step}: {message}"))

    # Longer than lint's lock-timeout-limit (10s): the user's choice, said once
    assert [line for line in said if "--lock-timeout" in line] == [
        "preflight: note: --lock-timeout 10min is longer than lint's lock-timeout-limit "
        "(10s, DBS134): a statement of the revisions may wait 10min for its table's lock; "
        "while it waits, the queries that need the table queue behind it (your choice: not "
        "refused)"]
    (unlinted,) = [f for f in report.findings if f.code == "DBS005"]
    assert 'relation "coded" does not exist' in unlinted.message
    assert [line for line in said if "could not be made on the throwaway server" in line] == [
        "preflight: lint: 2 object(s) of the database's schema could not be made on the "
        "throwaway server; a revision that uses one fails there (DBS005): EXTENSION "
        'dbsafe_probe: extension "dbsafe_probe" is not available; TABLE public.coded: type '
        '"public.probe_code" does not exist.']


def _stacked_tables(versions: Path, first: int, last: int) -> None:
    """Revisions `first`..`last` on top of the well-behaved project's 0004, each adding a
    table with a real downgrade."""
    for n in range(first, last + 1):
        (versions / f"{n:04d}_t{n}.py").write_text(
            f'"""table t{n}"""\nfrom alembic import op\n\nrevision = "{n:04d}"\n'
            f'down_revision = "{n - 1:04d}"\n\n\ndef upgrade():\n'
            f'    op.execute("CREATE TABLE t{n} (id bigint PRIMARY KEY)")\n\n\n'
            f'def downgrade():\n    op.execute("DROP TABLE t{n}")\n')


def test_the_history_keeps_a_long_runs_whole_story(database_url: str, tmp_path: Path) -> None:
    # 14 revisions tell 30-odd lines; the history row kept the last 20, so it began mid-way
    # through the revisions, without the preflight (what was pending, the lint's verdict)
    # or the first revisions applied.
    root = _project(tmp_path / "p")
    _stacked_tables(root / "migrations" / "versions", 5, 16)
    _at(database_url, "0002", root)

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path))

    assert report.summary["outcome"] == "applied", report.summary["what_happened"]
    with psycopg.connect(database_url) as conn:
        (message,) = conn.execute("SELECT message FROM dbsafe.history").fetchone()
    story = report.summary["what_happened"]
    assert len(story) > 30
    assert message.splitlines() == story
    assert any(line.startswith("preflight: 14 pending: 0003, 0004, 0005") for line in story)
    assert any(line.startswith("apply: 0003 ") for line in story)
    assert story[-1] == "done: at 0016"


def test_the_history_message_of_a_very_long_story_keeps_its_start_and_end() -> None:
    from dbsafe.guard.history import STORY_LINES, story_message

    story = [f"line {n}" for n in range(STORY_LINES + 100)]
    kept = story_message(story).splitlines()
    assert len(kept) == STORY_LINES
    assert kept[0] == "line 0" and kept[-1] == story[-1]
    assert "... 101 line(s) left out ..." in kept
    assert story_message(story[:STORY_LINES]).splitlines() == story[:STORY_LINES]


def test_status_shows_a_run_still_going_as_going_nowhere_yet(database_url: str,
                                                            tmp_path: Path) -> None:
    # A running (or killed) run has recorded no end: status showed it as one to base,
    # "upgrade running 0002 -> base", as a run that emptied the database would read.
    from dbsafe.guard import history

    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    with run_lock(database_url):  # as a run takes it, before it records its start
        run_id = history.start(database_url, "upgrade", ["0002"])
        lines = commands.status(_settings(root, database_url)).summary["lines"]
    (line,) = [line for line in lines if " running " in line]
    assert line.split()[4:7] == ["0002", "->", "?"], line
    # Killed, it loses the lock with its connection and shows as dead, going nowhere yet.
    lines = commands.status(_settings(root, database_url)).summary["lines"]
    (line,) = [line for line in lines if " dead " in line]
    assert line.split()[4:7] == ["0002", "->", "?"], line
    history.finish(database_url, run_id, outcome="rolled back", to_revisions=[])
    lines = commands.status(_settings(root, database_url)).summary["lines"]
    (line,) = [line for line in lines if " rolled back " in line]
    assert "0002 -> base" in line


@pytest.mark.parametrize("command", ["upgrade", "downgrade", "plan"])
def test_an_unknown_revision_is_said_before_the_database_is_reached(
        command: str, database_url: str, tmp_path: Path) -> None:
    """`dbsafe upgrade nonexistent` connected (and took the run lock) before saying the
    revision does not exist: against a database it cannot reach, it said that instead."""
    root = _project(tmp_path / "p")
    _at(database_url, "0002", root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DBSAFE_"))}
    closed = "postgresql://nobody@127.0.0.1:1/nowhere"

    for url in (closed, database_url):
        proc = subprocess.run(
            [sys.executable, "-m", "dbsafe", command, "00004", "--database-url", url],
            cwd=root, env=env, capture_output=True, text=True, check=False)

        assert proc.returncode == 2, proc.stderr
        # (upgrade and downgrade say that they read the revisions, nothing more)
        said = [line for line in proc.stderr.strip().splitlines()
                if not (command != "plan"
                        and line.endswith("preflight: reading the project's revisions …"))]
        assert said == [
            "dbsafe: error: no revision '00004' in the history (did you mean 0004?)"
        ], proc.stderr
        assert len(proc.stderr.strip().splitlines()) == (1 if command == "plan" else 2)
    with psycopg.connect(database_url) as conn:  # nothing recorded, nothing changed
        assert conn.execute("SELECT to_regnamespace('dbsafe')").fetchone() == (None,)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]


# 0005 rewrites the names, then fails on the duplicates: its transaction rolls back, or
# (AUTOCOMMITTED) the rewrite committed in an autocommit_block() before it stays.
FIRST_FAILS = '''"""first fails"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("UPDATE patients SET name = upper(name)")
    # (a second write: the preflight cannot tell the rows the index meets, so the revision
    # runs and fails; after the one UPDATE alone it refuses them first, task 596)
    op.execute("UPDATE patients SET name = name WHERE id < 0")
    op.execute("CREATE UNIQUE INDEX ux_patients_name ON patients (name)")


def downgrade():
    op.execute("DROP INDEX ux_patients_name")
'''
AUTOCOMMITTED = FIRST_FAILS.replace(
    '''    op.execute("UPDATE patients SET name = upper(name)")''',
    '''    with op.get_context().autocommit_block():
        op.execute("UPDATE patients SET name = upper(name)")''')


@pytest.mark.parametrize(("revision", "as_before"), [(FIRST_FAILS, True),
                                                     (AUTOCOMMITTED, False)],
                         ids=["rolled-back", "autocommitted"])
def test_a_failed_first_revision_says_whether_the_database_is_as_before(
        revision: str, as_before: bool, database_url: str, tmp_path: Path) -> None:
    """The first revision failed, nothing applied: `failed` (exit 2) said "no revision was
    applied; the database is at 0004" and recorded `failed` both when nothing changed and
    when an autocommit_block() had committed a rewrite of every name."""
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_first_fails.py").write_text(revision)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada'), (2, 'Ada')")

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, backup=False, allow=("DBS101", "DBS202")))

    story = report.summary["what_happened"]
    assert report.summary["outcome"] == "failed", story
    assert report.summary["as_before"] is as_before, story
    with psycopg.connect(database_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM patients ORDER BY id")]
    assert names == (["Ada", "Ada"] if as_before else ["ADA", "ADA"])
    (entry,) = commands.status(_settings(root, database_url)).summary["history"]
    assert entry["outcome"] == ("failed, as before" if as_before else "failed")
    # the report's last line says it as `status` does (it said `outcome: failed` alone, and
    # `upgrade --help` "2 ... failed without a way back", of a run that needed none: task 546)
    ends = render(report, "text", commands.catalog()).splitlines()[-1]
    assert ("(outcome: failed, as before;" if as_before else "(outcome: failed;") in ends, ends
    last = story[-1]
    if as_before:
        assert last == ("way back: no revision was applied: the database is as before the "
                        "upgrade (at 0004, schema verified equal, rows compared)"), story
    else:
        assert last.startswith("way back: no revision was applied, but the database is not "
                               "as before the upgrade: rows differ (above)"), story
        assert {f.code for f in report.findings} >= {"DBS601", "DBS614"}


# 0005 changes rows only (a data migration) and its downgrade() is `pass`.
DATA_ONLY = '''"""upper names"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("UPDATE patients SET name = upper(name)")


def downgrade():
    pass
'''


def test_status_and_upgrade_say_the_same_of_a_data_migration_with_an_empty_downgrade(
        database_url: str, tmp_path: Path) -> None:
    """`status` marked 0005 `[no way back: downgrade() does nothing]` while `upgrade`,
    whose lint capture saw it change rows only, took its empty downgrade() as a way back,
    without a word."""
    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_upper.py").write_text(DATA_ONLY)
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")

    status = commands.status(_settings(root, database_url))
    assert ("  0005  upper names  [downgrade() does nothing: a way back for the schema only "
            "if the revision changes none (a data migration; `dbsafe upgrade` tells from "
            "lint's capture), never for the rows it changes]") in status.summary["lines"]

    report = commands.upgrade(_settings(root, database_url), _options(tmp_path, backup=False))

    story = report.summary["what_happened"]
    assert report.summary["outcome"] == "applied", story
    assert ("preflight: 0005: a way back for the schema, not for the data: it changes no "
            "schema (a data migration) and its downgrade() does nothing, so the rows it "
            "changes stay") in story
    assert "DBS602" not in {f.code for f in report.findings}


# 0005 adds a column and its downgrade() is `pass`: no way back for the schema.
SCHEMA_CHANGE = '''"""add patients.note"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE patients ADD COLUMN note text")


def downgrade():
    pass
'''

_CAPTURE_DATE = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"


def _pending_line(report: Any, revision: str) -> str:
    return next(line for line in report.summary["lines"] if line.startswith(f"  {revision}  "))


def test_status_tells_a_data_migration_from_lints_cached_capture(
        database_url: str, tmp_path: Path) -> None:
    """After `dbsafe lint` of the same files, `status` reads its cached capture (running
    nothing) and says what `upgrade` would; once the revision is edited, the capture is
    stale and it says it cannot tell, as before."""
    import re

    root = _project(tmp_path / "p")
    revision = root / "migrations" / "versions" / "0005_upper.py"
    revision.write_text(DATA_ONLY)
    _at(database_url, "0004", root)
    cache = {"cache-dir": str(tmp_path / "cache")}
    lint_settings = load_settings(root, cache, environ={})

    commands.lint(lint_settings)
    status = commands.status(_settings(root, database_url, cache=True, **cache))

    assert re.fullmatch(
        r"  0005  upper names  \[a way back for the schema, not for the data: it changes no "
        rf"schema \(a data migration, from lint's capture of {_CAPTURE_DATE}\) and its "
        r"downgrade\(\) does nothing, so the rows it changes stay\]",
        _pending_line(status, "0005")), status.summary["lines"]

    revision.write_text(DATA_ONLY.replace("upper(name)", "lower(name)"))
    entries = sorted((tmp_path / "cache").iterdir())
    status = commands.status(_settings(root, database_url, cache=True, **cache))

    assert sorted((tmp_path / "cache").iterdir()) == entries  # nothing captured again

    assert _pending_line(status, "0005") == (
        "  0005  upper names  [downgrade() does nothing: a way back for the schema only if "
        "the revision changes none (a data migration; `dbsafe upgrade` tells from lint's "
        "capture), never for the rows it changes]")


def test_status_tells_a_schema_change_with_an_empty_downgrade_from_lints_cached_capture(
        database_url: str, tmp_path: Path) -> None:
    import re

    root = _project(tmp_path / "p")
    (root / "migrations" / "versions" / "0005_note.py").write_text(SCHEMA_CHANGE)
    _at(database_url, "0004", root)
    cache = {"cache-dir": str(tmp_path / "cache")}

    commands.lint(load_settings(root, cache, environ={}))
    status = commands.status(_settings(root, database_url, cache=True, **cache))

    assert re.fullmatch(
        r"  0005  add patients.note  \[no way back: downgrade\(\) does nothing and it changes "
        rf"the schema \(from lint's capture of {_CAPTURE_DATE}\)\]",
        _pending_line(status, "0005")), status.summary["lines"]
    assert status.summary["pending"][0]["way_back"].startswith("no way back: ")


# Three revisions without a downgrade() (OpenStack dropped them: cinder's 29.0.0), the last
# refused by the rows: 0007 sets orders.patient_id NOT NULL over an order that has none.
_NO_DOWNGRADE = '''"""{doc}"""
from alembic import op

revision = "{revision}"
down_revision = "{down}"


def upgrade():
    op.execute("{sql}")
'''
IRREVERSIBLE = {
    "0005_index.py": ("index patients.name", "0005", "0004",
                      "CREATE INDEX ix_patients_name ON patients (name)"),
    "0006_data.py": ("names again", "0006", "0005", "UPDATE patients SET name = name"),
    "0007_not_null.py": ("orders need a patient", "0007", "0006",
                         "ALTER TABLE orders ALTER COLUMN patient_id SET NOT NULL"),
}


def test_a_failure_after_irreversible_revisions_says_where_the_database_is_and_both_ways_on(
        database_url: str, tmp_path: Path) -> None:
    # It said only `cannot roll back automatically (...); to restore: dbsafe restore FILE`:
    # not that the database is at 0006 with 0007 rolled back, and the command given makes
    # a copy next to the database, which takes nothing back. Its preflight said "no way
    # back: there is no downgrade()" for the data migration 0006 alone, none for the others.
    root = _project(tmp_path / "p")
    for name, (doc, revision, down, statement) in IRREVERSIBLE.items():
        (root / "migrations" / "versions" / name).write_text(_NO_DOWNGRADE.format(
            doc=doc, revision=revision, down=down, sql=statement))
    _at(database_url, "0004", root)
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO patients VALUES (1, 'Ada')")
        conn.execute("INSERT INTO orders VALUES (10, 1), (11, NULL)")
    steps: list[str] = []

    # (a password in the URL, which the server's trust ignores: the way back given must
    # name the database, as a DBA pastes it, without printing it; a server
    # DBSAFE_TEST_DATABASE_URL names may need its own, already in the URL)
    password = conninfo_to_dict(database_url).get("password")
    report = commands.upgrade(
        _settings(root, database_url if password else database_url + "&password=s3cret"),
        # (DBS615 allowed: the preflight would refuse 0007 over the order without a patient;
        # --allow-irreversible accepts lint's DBS210 of the missing downgrade()s too)
        _options(tmp_path, allow_irreversible=True, allow=("DBS101", "DBS107", "DBS615")),
        lambda step, message: steps.append(f"{step}: {message}"))

    assert report.summary["outcome"] == "failed", steps
    assert _state(database_url)["version"] == ["0006"]
    backup = report.summary["backup"]
    assert (f"way back: cannot roll back automatically (0005, 0006 without a downgrade): "
            f"the database is at 0006, 2 of 3 revision(s) applied; to go on, fix what "
            f"failed and run `dbsafe upgrade` again; to go back to 0004: dbsafe restore "
            f"{backup} --database-url {shlex.quote(without_password(database_url))} --replace "
            "(password from PGPASSWORD or ~/.pgpass)") in steps, steps
    assert (password or "s3cret") not in "\n".join(steps)
    assert not [s for s in steps if s.startswith("preflight: 0006: ")], steps



PHONE = '''"""patients.phone"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.execute("ALTER TABLE patients ADD COLUMN phone text")


def downgrade():
    op.execute("ALTER TABLE patients DROP COLUMN phone")
'''


def test_an_upgrade_short_of_the_heads_is_not_failed_by_queries_needing_revisions_after_it(
        database_url: str, tmp_path: Path) -> None:
    # Open-Assistant upgraded from empty to 0964ac95170d, 21 revisions before its head, was
    # rolled back: three queries of its application (which is its head's) read columns the
    # later revisions add (`task` has no column `skipped`), a new error where the empty
    # database had no table. Such a query passes at the heads: not the upgrade's doing.
    # One the heads refuse too (0003 drops patients.email for good) still fails it.
    root = _project(tmp_path / "p", app_sql="SELECT phone FROM patients;\n"
                                            "SELECT email FROM patients;\n")
    (root / "migrations" / "versions" / "0005_phone.py").write_text(PHONE)

    report = commands.upgrade(_settings(root, database_url),
                              _options(tmp_path, target="0003", backup=False,
                                       allow=("DBS117", "DBS202", "DBS211")))

    assert report.summary["outcome"] == "rolled back", (report.summary["what_happened"], report.findings)
    assert [(f.code, f.location.line) for f in report.findings
            if f.code.startswith("DBS30") and f.location] == [("DBS302", 2)]
    assert ("postflight: 1 of the application's queries fail at 0003 and pass at the heads "
            "(0005): they read what the 2 revision(s) after it make, so they are not "
            "counted: app/queries.sql:1 (`patients` has no column `phone`)"
            ) in report.summary["what_happened"], report.summary["what_happened"]

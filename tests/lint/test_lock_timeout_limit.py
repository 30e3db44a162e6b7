"""DBS134's limit comes from `lock-timeout-limit` in `[tool.dbsafe]`, and a timeout env.py
set on its connection (a generated SET in the captured revision) is judged like the
revision's own."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dbsafe import commands
from dbsafe.config import ConfigError, load_settings
from dbsafe.core import Location
from dbsafe.extract.migration import Migration, MigrationStatement
from dbsafe.lint.engine import lint_migration
from dbsafe.lint.rules.long_lock_timeout import RULE


def _flagged(tmp_path: Path, table: str) -> list[str]:
    (tmp_path / "pyproject.toml").write_text(f"[tool.dbsafe]\n{table}", encoding="utf-8")
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "001.sql").write_text("SET lock_timeout = '30s';\n"
                                    "ALTER TABLE orders ADD COLUMN note text;\n",
                                    encoding="utf-8")
    report = commands.lint(load_settings(tmp_path), [folder])
    return [f.message for f in report.findings if f.code == RULE.code]


def test_the_limit_is_the_projects_setting(tmp_path: Path) -> None:
    flagged = _flagged(tmp_path, "")
    assert len(flagged) == 1 and "30s" in flagged[0] and "than the 10s" in flagged[0]
    assert _flagged(tmp_path, 'lock-timeout-limit = "1min"\n') == []
    assert len(_flagged(tmp_path, "lock-timeout-limit = 20000\n")) == 1
    assert _flagged(tmp_path, 'lock-timeout-limit = "0"\n') == []  # no limit
    with pytest.raises(ConfigError, match="lock-timeout-limit"):
        _flagged(tmp_path, 'lock-timeout-limit = "10 seconds"\n')


def test_a_timeout_env_py_set_on_its_connection_is_judged_too() -> None:
    here = Location("versions/0002_note.py", 9)
    migration = Migration("versions/0002_note.py", (
        MigrationStatement("SET lock_timeout = '10min'", Location("<alembic>", 1),
                           generated=True),
        MigrationStatement("ALTER TABLE orders ADD COLUMN note text", here),
    ), kind="alembic", revision="0002")
    findings = lint_migration(migration, [RULE])
    assert [(f.location, f.message.split(" (")[1].split(")")[0]) for f in findings] == [
        (here, "set on the connection env.py hands alembic")]
    # `dbsafe upgrade` retries an alembic revision; a SQL folder's file is its runner's (the
    # DBS134 fixture's help does not name it: task 419).
    assert "(`dbsafe upgrade` retries it)" in (findings[0].help or "")


@pytest.mark.db
def test_a_reset_after_env_py_set_a_long_timeout_is_said_not_passed(conninfo: str) -> None:
    """RESET (and set_config to NULL) returns `lock_timeout` to the session's default: what
    the connection was started with (env.py's `-c lock_timeout=...`), not what a SET gave
    it. The capture sees only the session's value, so which of the two env.py did is
    unknown: the finding says so."""
    after_reset = []
    for options, set_first in (("-c lock_timeout=10min", ""), ("", "10min")):
        with psycopg.connect(conninfo, autocommit=True, options=options) as conn:
            for reset in ("RESET lock_timeout",
                          "SELECT set_config('lock_timeout', NULL, false)"):
                if set_first:
                    conn.execute(f"SET lock_timeout = '{set_first}'")
                conn.execute(reset)
                after_reset.append(conn.execute("SHOW lock_timeout").fetchone())
    assert after_reset == [("10min",), ("10min",), ("0",), ("0",)]
    here = Location("versions/0002_note.py", 9)
    for reset in ("RESET lock_timeout", "SELECT set_config('lock_timeout', NULL, false)"):
        migration = Migration("versions/0002_note.py", (
            MigrationStatement("SET lock_timeout = '10min'", Location("<alembic>", 1),
                               generated=True),
            MigrationStatement(reset, Location("versions/0002_note.py", 8)),
            MigrationStatement("ALTER TABLE orders ADD COLUMN note text", here),
        ), kind="alembic", revision="0002")
        [finding] = lint_migration(migration, [RULE])
        assert finding.location == here
        assert "dbsafe cannot tell which" in finding.message
        assert "the 10min env.py gave its connection" in finding.message


@pytest.mark.db
def test_a_set_local_ends_with_its_transaction_and_env_pys_timeout_is_back(conninfo: str) -> None:
    """`SET LOCAL lock_timeout` (to 0, or TO DEFAULT) lasts until its transaction ends; the
    session's value, what env.py SET, is in force again after it. TO DEFAULT returns to the
    session's default (the connect option's, not the SET's), as RESET does."""
    shown = []
    for options, set_first in (("-c lock_timeout=10min", ""), ("", "10min")):
        with psycopg.connect(conninfo, autocommit=True, options=options) as conn:
            for local in ("0", "DEFAULT"):
                if set_first:
                    conn.execute(f"SET lock_timeout = '{set_first}'")
                conn.execute("BEGIN")
                conn.execute(f"SET LOCAL lock_timeout TO {local}")
                inside = conn.execute("SHOW lock_timeout").fetchone()
                conn.execute("COMMIT")
                shown.append((inside, conn.execute("SHOW lock_timeout").fetchone()))
    assert shown == [(("0",), ("10min",)), (("10min",), ("10min",)),
                     (("0",), ("10min",)), (("0",), ("10min",))]
    file = "versions/0002_note.py"
    inside, after = Location(file, 10), Location(file, 12)
    for local in ("0", "DEFAULT"):
        migration = Migration(file, (
            MigrationStatement("SET lock_timeout = '10min'", Location("<alembic>", 1),
                               generated=True),
            MigrationStatement("BEGIN", Location(file, 8)),
            MigrationStatement(f"SET LOCAL lock_timeout TO {local}", Location(file, 9)),
            MigrationStatement("ALTER TABLE orders ADD COLUMN note text", inside),
            MigrationStatement("COMMIT", Location(file, 11)),
            MigrationStatement("ALTER TABLE orders ADD COLUMN memo text", after),
        ), kind="alembic", revision="0002")
        findings = lint_migration(migration, [RULE])
        if local == "0":  # no timeout inside (DBS115's), env.py's again after the COMMIT
            assert [f.location for f in findings] == [after]
        else:
            assert [f.location for f in findings] == [inside, after]
            assert "after `SET LOCAL lock_timeout TO DEFAULT` (line 9)" in findings[0].message
            assert "dbsafe cannot tell which" in findings[0].message
        assert "set on the connection env.py hands alembic" in findings[-1].message


@pytest.mark.db
def test_a_timeout_rolled_back_to_a_savepoint_is_undone(conninfo: str) -> None:
    """DBS115 says `lock_timeout` is missing where PostgreSQL shows none in force: a SET
    after a SAVEPOINT rolled back to is undone (RELEASE keeps it), a ROLLBACK outside a
    transaction undoes nothing."""
    from dbsafe.lint import lint_sql
    from dbsafe.lint.rules import missing_lock_timeout

    for before in ("SET lock_timeout = '5s'; ROLLBACK",
                   "BEGIN; SAVEPOINT a; SET lock_timeout = '5s'; ROLLBACK TO a",
                   "BEGIN; SAVEPOINT a; SET lock_timeout = '5s'; RELEASE a",
                   "BEGIN; SET lock_timeout = '5s'; SAVEPOINT a; SAVEPOINT b; "
                   "SET lock_timeout = 0; RELEASE b; ROLLBACK TO a",
                   "BEGIN; SAVEPOINT a; SET LOCAL lock_timeout = '5s'; ROLLBACK TO SAVEPOINT a"):
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for statement in before.split("; "):
                conn.execute(statement)
            unset = conn.execute("SHOW lock_timeout").fetchone() == ("0",)
        findings = lint_sql(f"SET statement_timeout = '1min'; {before}; "
                            "ALTER TABLE orders ADD COLUMN note text;",
                            rules=[missing_lock_timeout.RULE])
        assert any("`lock_timeout`" in f.message for f in findings) is unset, before

"""Settings precedence and validation: defaults < [tool.dbsafe] < DBSAFE_* env < CLI."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dbsafe.config import (
    DurationError,
    load_settings,
    parse_duration,
    read_duration,
    usable_cores,
)
from dbsafe.core import ConfigError, Severity
from tests.conftest import REPO_ROOT


def write_pyproject(directory: Path, body: str) -> Path:
    path = directory / "pyproject.toml"
    path.write_text(f"[project]\nname = 'app'\n\n[tool.dbsafe]\n{body}\n", encoding="utf-8")
    return path


def test_defaults_without_any_pyproject(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.fail_on is Severity.WARNING
    assert settings.format == "text"
    assert settings.resolved_schema_source == "migrations"
    assert settings.project_root == tmp_path.resolve()


def test_file_is_found_walking_up_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'fail-on = "error"\nalembic-config = "db/alembic.ini"')
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    settings = load_settings(nested, environ={})
    assert settings.fail_on is Severity.ERROR
    assert settings.alembic_config == tmp_path.resolve() / "db" / "alembic.ini"
    assert settings.config_file == tmp_path.resolve() / "pyproject.toml"


def test_environment_overrides_file_and_cli_overrides_environment(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'fail-on = "error"\nformat = "json"')
    env = {"DBSAFE_FAIL_ON": "note", "DBSAFE_FORMAT": "sarif"}
    from_env = load_settings(tmp_path, environ=env)
    assert (from_env.fail_on, from_env.format) == (Severity.NOTE, "sarif")
    from_cli = load_settings(tmp_path, {"format": "github", "fail-on": None}, environ=env)
    assert (from_cli.fail_on, from_cli.format) == (Severity.NOTE, "github")


def test_setup_sql_files_are_relative_to_the_file_or_to_the_working_directory(
        tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'setup-sql = ["db/init.sql", "db/roles.sql"]')
    nested = tmp_path / "src"
    nested.mkdir()
    root = tmp_path.resolve()
    assert load_settings(nested, environ={}).setup_sql == (root / "db" / "init.sql",
                                                           root / "db" / "roles.sql")
    env = {"DBSAFE_SETUP_SQL": "a.sql, b/c.sql"}
    assert load_settings(nested, environ=env).setup_sql == (nested.resolve() / "a.sql",
                                                            nested.resolve() / "b" / "c.sql")
    write_pyproject(tmp_path, "setup-sql = [1]")
    with pytest.raises(ConfigError, match="'setup-sql' must be a list of path strings"):
        load_settings(tmp_path, environ={})


def test_sqitch_s_own_target_variable_is_read_as_sqitch_reads_it(tmp_path: Path) -> None:
    # SQITCH_TARGET "overrides values stored in the configuration, but not command-line
    # options" (sqitch-environment): over the file's, under dbsafe's own variable and option.
    write_pyproject(tmp_path, 'sqitch-target = "dev"')
    assert load_settings(tmp_path, environ={}).sqitch_target == "dev"
    env = {"SQITCH_TARGET": "prod"}
    assert load_settings(tmp_path, environ=env).sqitch_target == "prod"
    assert load_settings(tmp_path, environ={**env, "DBSAFE_SQITCH_TARGET": "qa"}
                         ).sqitch_target == "qa"
    assert load_settings(tmp_path, {"sqitch-target": "ci"}, environ=env).sqitch_target == "ci"
    assert load_settings(tmp_path, environ={"SQITCH_TARGET": ""}).sqitch_target == "dev"


def test_database_url_makes_the_database_the_default_source(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"DBSAFE_DATABASE_URL": "postgresql:///x"})
    assert settings.resolved_schema_source == "database"
    snap = load_settings(tmp_path, {"snapshot": "s.json"}, environ={})
    assert snap.resolved_schema_source == "snapshot"
    explicit = load_settings(tmp_path, {"schema-source": "migrations"},
                             environ={"DBSAFE_DATABASE_URL": "postgresql:///x"})
    assert explicit.resolved_schema_source == "migrations"


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    pyproject = write_pyproject(tmp_path, 'fail_on = "error"')
    with pytest.raises(ConfigError) as excinfo:
        load_settings(tmp_path, environ={})
    assert "'fail_on'" in str(excinfo.value)
    assert str(pyproject) in str(excinfo.value)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('fail-on = "fatal"', "'fail-on' must be one of error, warning, note"),
        ("source-paths = 3", "'source-paths' must be a list of strings"),
        ('jobs = "many"', "'jobs' must be a whole number"),
        ("confirm = 2", "'confirm' must be true or false"),
        ('[tool.dbsafe.severity]\nDBS302 = "loud"', "'severity.DBS302' must be one of"),
        ('js-sql-tags = ["sql`"]', "'js-sql-tags' must be a list of JavaScript names"),
        ("js-sql-calls = [1]", "'js-sql-calls' must be a list of strings"),
        ('lock-timeout = "forever"', "'lock-timeout' must be a PostgreSQL duration"),
        ('statement-timeout = "5S"', "'statement-timeout' must be a PostgreSQL duration"),
        ('check-timeout = "-1s"', "'check-timeout' must be a PostgreSQL duration"),
        ('exclude = ["[unclosed"]', "that is never closed"),
        ('exclude = ["\\\\"]', "is not a gitignore pattern"),
        ('search-path = "app,,public"', "'search-path' must be schema names separated by commas"),
        ('search-path = "\\"open, public"', "'search-path' must be schema names separated"),
        ('search-path = ["app", 1]', "'search-path' must be a list of schema names"),
        # a negative size skipped every file (max-file-size) or made every table large;
        # an infinite one was an internal error (OverflowError)
        ('max-file-size = "-5MB"', "'max-file-size' must be a size such as 10MB or 1GB, 0 or"),
        ("large-table = -1", "'large-table' must be a size such as 10MB or 1GB, 0 or more"),
        ('bloat-min-size = "1e400MB"', "'bloat-min-size' must be a size such as 10MB or 1GB, 0"),
    ],
)
def test_wrong_value_kinds_are_config_errors(tmp_path: Path, body: str, fragment: str) -> None:
    write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_settings(tmp_path, environ={})


def test_search_path_is_read_as_postgresql_reads_the_setting(tmp_path: Path) -> None:
    """A string is split and folded as PostgreSQL splits `search_path` (`App` is `app`, a
    quoted name kept as written); a list holds names as spelt, a quoted one unquoted."""
    write_pyproject(tmp_path, 'search-path = \'User_Management, "$user", "Mixed Case"\'')
    assert load_settings(tmp_path, environ={}).search_path == (
        "user_management", "$user", "Mixed Case")
    write_pyproject(tmp_path, 'search-path = [\'"$user"\', "App", "public"]')
    assert load_settings(tmp_path, environ={}).search_path == ("$user", "App", "public")
    write_pyproject(tmp_path, 'search-path = ""')  # PostgreSQL's '': pg_catalog alone
    assert load_settings(tmp_path, environ={}).search_path == ()
    assert load_settings(tmp_path, environ={"DBSAFE_SEARCH_PATH": "app, public"}).search_path \
        == ("app", "public")


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(tmp_path, environ={})


def test_a_tool_key_that_is_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    # `tool = 3` was an internal error: 'int' object has no attribute 'get'.
    (tmp_path / "pyproject.toml").write_text("tool = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: \[tool\] must be a table"):
        load_settings(tmp_path, environ={})


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path, config_file=tmp_path / "nope.toml", environ={})


def test_severity_table_and_lists(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'select = ["DBS3"]\nignore = ["DBS304"]\n'
                              '[tool.dbsafe.severity]\nDBS302 = "warning"')
    settings = load_settings(tmp_path, environ={})
    assert settings.select == ("DBS3",)
    assert settings.ignore == ("DBS304",)
    assert settings.severity == {"DBS302": Severity.WARNING}


def test_docs_configuration_md_lists_every_key_with_its_environment_variable() -> None:
    from dbsafe.config import _ENV_KEYS, _KEYS

    doc = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z-]+)`(?: \(table\))? \|.*$",
                                                        doc, re.MULTILINE)}
    assert sorted(set(_KEYS) - set(rows)) == []
    assert sorted(set(rows) - set(_KEYS)) == []
    for key in _ENV_KEYS:
        assert f"`DBSAFE_{key.upper().replace('-', '_')}`" in rows[key], key


def test_durations_and_patterns_postgresql_and_git_accept_load(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'lock-timeout = "1.5 min"\nstatement-timeout = 500\n'
                              'check-timeout = "0"\nexclude = ["app/[abc]*.sql", "a\\\\[b", "[!x]y"]')
    settings = load_settings(tmp_path, environ={})
    assert (settings.lock_timeout, settings.statement_timeout, settings.check_timeout) == (
        "1.5 min", "500", "0")
    assert settings.exclude == ("app/[abc]*.sql", "a\\[b", "[!x]y")


def test_a_bad_duration_from_the_environment_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'lock-timeout' must be a PostgreSQL duration"):
        load_settings(tmp_path, environ={"DBSAFE_LOCK_TIMEOUT": "forever"})


# Spellings PostgreSQL's parse_int reads (strtol base 0, then strtod), and ones it reads
# otherwise than written (with the milliseconds written): each checked against the server.
_TAKEN = ["5s", "+5s", "1e3ms", "1E3", "0x10", "0X10ms", ".5s", "5.", "5.e1s", "-0", "0.1s",
          "1.5 min", "0x1.8p1", "2000us", "24d", "2147483647", "5\ts", " 2s "]
_READ_OTHERWISE = [("0.5", 0.5), ("1.5", 1.5), ("0.4ms", 0.4), ("1500us", 1.5),
                   ("1.0005s", 1000.5), ("0.001min", 60), ("0.0001h", 360), ("010", 10),
                   ("0017s", 17000), ("0x10.5", 16.3125)]
_REFUSED = ["08", "-1", "-.5", "+.5", "5S", "5mins", "1e400", "30d", "2147483648", "inf", "nan",
            "0x", "1_000", ""]
# What a migration sets (`read_duration`): PostgreSQL's rounding, half to even, and its range
# checked after rounding; the units strong_migrations' 10 s limit is written in.
_SET_BY_MIGRATIONS = ["10min", "10s", "10001", "600000", "1h", "2.5", "3.5", "1.5ms", "0.5ms",
                      "-0.4", "-0.5", "0.0005s", "2147483647.4", "2147483647.5", "5 min "]


@pytest.mark.db
def test_durations_are_taken_exactly_as_postgresql_reads_them(database_url: str) -> None:
    import psycopg

    def server_reads(text: str) -> int | None:
        try:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (text,))
        except psycopg.errors.InvalidParameterValue:
            return None
        row = conn.execute("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'")
        return int(row.fetchone()[0])

    with psycopg.connect(database_url, autocommit=True) as conn:
        for text in _TAKEN:
            ms, handed = parse_duration(text)
            assert server_reads(text) == server_reads(handed) == ms, text
        for text, written in _READ_OTHERWISE:
            with pytest.raises(DurationError) as refused:
                parse_duration(text)
            assert refused.value.reason, text
            assert server_reads(text) not in (None, written), text
        for text in _REFUSED:
            with pytest.raises(DurationError):
                parse_duration(text)
            assert server_reads(text) is None, text
        # A migration's SET: the milliseconds the server sets, refused where it refuses, and
        # what SHOW then prints (`10min`) read back the same.
        for text in [*_TAKEN, *(t for t, _ in _READ_OTHERWISE), *_REFUSED, *_SET_BY_MIGRATIONS]:
            try:
                ms: int | None = read_duration(text)
            except DurationError:
                ms = None
            assert server_reads(text) == ms, text
            if ms is not None:
                shown = conn.execute("SHOW lock_timeout").fetchone()
                assert read_duration(shown[0]) == ms, (text, shown)


def test_the_default_alembic_ini_is_the_nearest_from_the_working_directory(tmp_path: Path) -> None:
    # A monorepo: the root has its own alembic.ini, a service has another. Run in the
    # service (or below it), dbsafe reads the service's, as `alembic` there would; run
    # where none is on the way up, the project root's.
    write_pyproject(tmp_path, 'fail-on = "error"')
    (tmp_path / "alembic.ini").write_text("[alembic]\n", encoding="utf-8")
    service = tmp_path / "services" / "api"
    (service / "app").mkdir(parents=True)
    (service / "alembic.ini").write_text("[alembic]\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    root = tmp_path.resolve()

    assert load_settings(service, environ={}).alembic_config == root / "services/api/alembic.ini"
    assert load_settings(service / "app", environ={}).alembic_config == \
        root / "services/api/alembic.ini"
    assert load_settings(tmp_path / "docs", environ={}).alembic_config == root / "alembic.ini"
    # Configured, it is what it says, wherever dbsafe runs.
    write_pyproject(tmp_path, 'alembic-config = "alembic.ini"')
    assert load_settings(service, environ={}).alembic_config == root / "alembic.ini"
    assert load_settings(service, {"alembic-config": "other.ini"}, environ={}).alembic_config \
        == root / "services/api/other.ini"


def test_usable_cores_are_the_ones_this_process_may_run_on() -> None:
    # A child pinned to one core (as a container's cpuset or `taskset` pins it) counts one,
    # whatever the machine has: validate's workers and the split walk follow it.
    import subprocess
    import sys

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from dbsafe.config import usable_cores; print(usable_cores())")
    pinned = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert pinned.stdout.strip() == "1"
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_a_schema_file_is_the_default_source_after_a_database_and_a_snapshot(
        tmp_path: Path) -> None:
    assert load_settings(tmp_path, {"schema-file": "db/schema.sql"},
                         environ={}).resolved_schema_source == "schema-file"
    assert load_settings(tmp_path, {"schema-file": "db/schema.sql", "snapshot": "s.json"},
                         environ={}).resolved_schema_source == "snapshot"
    assert load_settings(tmp_path, {"schema-file": "db/schema.sql"},
                         environ={"DBSAFE_DATABASE_URL": "postgresql:///x"}
                         ).resolved_schema_source == "database"

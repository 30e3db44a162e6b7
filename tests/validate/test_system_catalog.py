"""Columns of system catalogs (`pg_catalog`): checked only on the exact major version known.

Each case is verified on real PostgreSQL (18: the session server; 15 and 17: server binaries,
skipped where absent), and the shipped catalog data is held to what those servers have.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pytest_postgresql.executors.noop import NoopExecutor

from dbsafe import commands
from dbsafe.config import load_settings
from dbsafe.schema.model import SchemaSnapshot, replace
from dbsafe.validate import resolve
from dbsafe.validate.syscatalog import SystemCatalog, live, shipped

FIXTURES = Path(__file__).parent / "fixtures"

# Valid on 15, 17 and 18.
PASSING = [
    "SELECT ctid, xmin, tableoid, oid, datname FROM pg_database",
    "SELECT c.oid, c.relname, c.ctid FROM pg_class c",
    "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class",
    "SELECT pid, state, query FROM pg_stat_activity",
    "SELECT name, setting FROM pg_settings WHERE name = 'search_path'",
    "SELECT d.datname, s.numbackends FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid",
    "SELECT a FROM pg_database AS d(a)",
    "SELECT n.nspname FROM pg_namespace n WHERE n.oid = 'public'::regnamespace",
    "SELECT g FROM pg_catalog.generate_series(1, 2) AS g",
]
# Relations neither version has: (sql, the identifier reported, the message).
UNKNOWN_RELATIONS = [
    ("SELECT * FROM pg_catalog.pg_nonesuch", "pg_nonesuch",
     "no relation `pg_nonesuch` in schema `pg_catalog` on PostgreSQL {major}"),
    ("SELECT pid FROM pg_stat_activty", "pg_stat_activty",  # pg_catalog is searched first
     "no relation `pg_stat_activty` in pg_catalog or the search path (public) "
     "on PostgreSQL {major}"),
]
# Unknown on both: (sql, the identifier reported).
FLAGGED = [
    ("SELECT nonesuch FROM pg_database", "nonesuch"),
    ("SELECT c.relnme FROM pg_catalog.pg_class c", "relnme"),
    ("SELECT ctid FROM pg_settings", "ctid"),  # views have no system columns
]
# pg_database's ICU locale column was renamed in 17: ON_18_ONLY is 17's too.
ON_15_ONLY = "SELECT daticulocale FROM pg_database"
ON_18_ONLY = "SELECT datlocale FROM pg_database"


@pytest.fixture
def server_is_18(pg_server: NoopExecutor) -> None:
    """The tests holding the shipped 18 catalog to the suite's server, skipped where
    DBSAFE_TEST_DATABASE_URL names an older one (the 15 catalog's run on the 15 cluster)."""
    with psycopg.connect(make_conninfo(host=pg_server.host, port=pg_server.port,
                                       user=pg_server.user, dbname="postgres",
                                       password=pg_server.password or None)) as conn:
        version = conn.info.server_version
    if version < 180000:
        pytest.skip(f"the suite's server is PostgreSQL {version // 10000}, not 18")


@pytest.fixture(scope="module")
def clinic() -> SchemaSnapshot:
    return SchemaSnapshot.load(FIXTURES / "clinic_schema.json")


def _catalog(major: int) -> SystemCatalog:
    catalog = shipped(major)
    assert catalog is not None, f"no shipped catalog for PostgreSQL {major}"
    return catalog


def _flagged(sql: str, snapshot: SchemaSnapshot, catalog: SystemCatalog | None) -> list[str]:
    return [sql[p.start:p.end + 1] for p in resolve(sql, snapshot, catalog=catalog).problems]


@pytest.mark.parametrize("major", [15, 17, 18])
def test_catalog_columns_are_checked_against_the_versions_catalog(
    major: int, clinic: SchemaSnapshot,
) -> None:
    catalog = _catalog(major)
    for sql in PASSING:
        assert _flagged(sql, clinic, catalog) == [], sql
    for sql, identifier in FLAGGED:
        assert _flagged(sql, clinic, catalog) == [identifier], sql
    assert _flagged(ON_15_ONLY, clinic, catalog) == ([] if major == 15 else ["daticulocale"])
    assert _flagged(ON_18_ONLY, clinic, catalog) == ([] if major >= 17 else ["datlocale"])


@pytest.mark.parametrize("major", [15, 17, 18])
def test_an_unknown_catalog_relation_is_dbs301_on_that_version(
    major: int, clinic: SchemaSnapshot,
) -> None:
    for sql, identifier, message in UNKNOWN_RELATIONS:
        (problem,) = resolve(sql, clinic, catalog=_catalog(major)).problems
        assert (problem.code, sql[problem.start:problem.end + 1], problem.message,
                problem.catalog_version) == ("DBS301", identifier, message.format(major=major),
                                             major), sql
    (problem,) = resolve("SELECT * FROM pg_stat_activty", clinic, catalog=_catalog(major)).problems
    assert problem.help == "Did you mean `pg_stat_activity`?"
    # A table of the application's own is looked for in pg_catalog too, but its finding
    # is the usual one, confirmable on any version.
    (problem,) = resolve("SELECT * FROM nosuchtable", clinic, catalog=_catalog(major)).problems
    assert (problem.message, problem.catalog_version) == (
        "no relation `nosuchtable` in schema `public`", None)
    # Unknown without a catalog, as before: nothing said.
    for sql, _, _ in UNKNOWN_RELATIONS:
        assert _flagged(sql, clinic, None) == [], sql


def test_an_extension_in_pg_catalog_leaves_its_relations_unchecked(
    clinic: SchemaSnapshot,
) -> None:
    from dbsafe.schema.model import Extension

    extended = replace(clinic, extensions=(
        Extension("pg_stat_statements", "pg_catalog", "1.11"),))
    assert _flagged("SELECT query FROM pg_stat_statements", extended, _catalog(18)) == []
    assert _flagged("SELECT query FROM pg_stat_statements", clinic, _catalog(18)) == [
        "pg_stat_statements"]


def test_the_finding_names_the_version_and_is_dbs302(clinic: SchemaSnapshot) -> None:
    (problem,) = resolve(ON_18_ONLY, clinic, catalog=_catalog(15)).problems
    assert (problem.code, problem.subject, problem.catalog_version) == (
        "DBS302", "pg_catalog.pg_database.datlocale", 15)
    assert problem.message == "`pg_database` has no column `datlocale` on PostgreSQL 15"
    assert problem.help == "Did you mean `daticulocale`?"


def test_without_a_catalog_catalog_columns_stay_unchecked(clinic: SchemaSnapshot) -> None:
    for sql, _ in FLAGGED:
        assert _flagged(sql, clinic, None) == [], sql


def test_a_search_path_naming_pg_catalog_late_leaves_unqualified_names_unchecked() -> None:
    snapshot = SchemaSnapshot(schemas=("app",), search_path=("app", "pg_catalog"))
    catalog = _catalog(18)
    assert _flagged("SELECT nonesuch FROM pg_database", snapshot, catalog) == []
    assert _flagged("SELECT nonesuch FROM pg_catalog.pg_database", snapshot, catalog) == [
        "nonesuch"]
    assert _flagged("SELECT * FROM pg_nonesuch", snapshot, catalog) == []
    assert _flagged("SELECT * FROM pg_catalog.pg_nonesuch", snapshot, catalog) == ["pg_nonesuch"]


def _verdicts(conninfo: str) -> tuple[list[str], list[str]]:
    """(statements the server accepts, those it rejects with 42703) among all cases."""
    accepted, rejected = [], []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for sql in [*PASSING, *(s for s, _ in FLAGGED), ON_15_ONLY, ON_18_ONLY,
                    *(s for s, _, _ in UNKNOWN_RELATIONS)]:
            try:
                conn.execute(f"EXPLAIN {sql}")
                accepted.append(sql)
            except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable):
                rejected.append(sql)
    return accepted, rejected


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_cases_and_shipped_catalog_match_postgresql_18(conninfo: str) -> None:
    accepted, rejected = _verdicts(conninfo)
    assert accepted == [*PASSING, ON_18_ONLY]
    assert rejected == [*(s for s, _ in FLAGGED), ON_15_ONLY,
                        *(s for s, _, _ in UNKNOWN_RELATIONS)]
    server = live(conninfo)
    assert server is not None and server.major == 18
    assert server.relations == _catalog(18).relations, "run scripts/gen_pg_catalog.py"


@pytest.mark.db
@pytest.mark.xdist_group("pg15")  # the worker that has the 15 cluster
def test_cases_and_shipped_catalog_match_postgresql_15(pg15_server: str) -> None:
    accepted, rejected = _verdicts(pg15_server)
    assert accepted == [*PASSING, ON_15_ONLY]
    assert rejected == [*(s for s, _ in FLAGGED), ON_18_ONLY,
                        *(s for s, _, _ in UNKNOWN_RELATIONS)]
    server = live(pg15_server)
    assert server is not None and server.major == 15
    assert server.relations == _catalog(15).relations, "run scripts/gen_pg_catalog.py"


@pytest.mark.db
@pytest.mark.xdist_group("pg17")  # the worker that has the 17 cluster
def test_cases_and_shipped_catalog_match_postgresql_17(pg17_server: str) -> None:
    accepted, rejected = _verdicts(pg17_server)
    assert accepted == [*PASSING, ON_18_ONLY]
    assert rejected == [*(s for s, _ in FLAGGED), ON_15_ONLY,
                        *(s for s, _, _ in UNKNOWN_RELATIONS)]
    server = live(pg17_server)
    assert server is not None and server.major == 17
    assert server.relations == _catalog(17).relations, "run scripts/gen_pg_catalog.py"


# -- built-in functions' columns: pg_stat_get_wal() lost its write/sync columns in 18 (to
# pg_stat_io), pg_get_replication_slots() gained inactive_since in 17.
FUNCTION_ON_15_ONLY = "SELECT w.wal_write FROM pg_stat_get_wal() AS w"
FUNCTION_ON_18_ONLY = "SELECT s.inactive_since FROM pg_get_replication_slots() AS s"
FUNCTION_ON_BOTH = "SELECT w.wal_records, s.slot_name FROM pg_stat_get_wal() w, pg_get_replication_slots() s"


@pytest.mark.parametrize("major", [15, 18])
def test_a_builtin_functions_columns_are_its_versions(major: int, clinic: SchemaSnapshot) -> None:
    catalog = _catalog(major)
    assert _flagged(FUNCTION_ON_BOTH, clinic, catalog) == []
    absent = {15: (FUNCTION_ON_18_ONLY, "inactive_since"), 18: (FUNCTION_ON_15_ONLY, "wal_write")}
    sql, column = absent[major]
    (problem,) = resolve(sql, clinic, catalog=catalog).problems
    # Only a server of that version can confirm it.
    assert (problem.code, sql[problem.start:problem.end + 1], problem.catalog_version) == (
        "DBS302", column, major)
    other = FUNCTION_ON_15_ONLY if major == 15 else FUNCTION_ON_18_ONLY
    assert _flagged(other, clinic, catalog) == []


def test_without_a_catalog_a_builtin_function_whose_columns_changed_is_unknown(
    clinic: SchemaSnapshot,
) -> None:
    for sql in (FUNCTION_ON_15_ONLY, FUNCTION_ON_18_ONLY, FUNCTION_ON_BOTH):
        resolution = resolve(sql, clinic)
        assert (resolution.status, resolution.problems) == ("not_analysed", ()), sql
    # The columns both versions agree on are checked on any version.
    (problem,) = resolve("SELECT t.nme FROM pg_ls_tmpdir() t", clinic).problems
    assert (problem.code, problem.catalog_version) == ("DBS302", None)


def _callables(conninfo: str) -> str:
    """The names `CALLABLE_QUERY` reads on a server, as the data file ships them."""
    from dbsafe.validate.syscatalog import CALLABLE_QUERY

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return " ".join(name for (name,) in conn.execute(CALLABLE_QUERY))


def _shipped_callables(major: int) -> str:
    from dbsafe.validate.syscatalog import _shipped_versions

    return str(_shipped_versions()[str(major)]["callable"])


def _function_verdicts(conninfo: str) -> dict[str, bool]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        verdicts = {}
        for sql in (FUNCTION_ON_15_ONLY, FUNCTION_ON_18_ONLY, FUNCTION_ON_BOTH):
            try:
                conn.execute(f"PREPARE p AS {sql}")
                conn.execute("DEALLOCATE p")
                verdicts[sql] = True
            except psycopg.errors.UndefinedColumn:
                verdicts[sql] = False
    return verdicts


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_builtin_function_cases_and_shipped_functions_match_postgresql_18(conninfo: str) -> None:
    assert _function_verdicts(conninfo) == {
        FUNCTION_ON_15_ONLY: False, FUNCTION_ON_18_ONLY: True, FUNCTION_ON_BOTH: True}
    server = live(conninfo)
    assert server is not None
    shipped_18 = _catalog(18)
    assert (server.functions, server.one_argument) == (
        shipped_18.functions, shipped_18.one_argument), "run scripts/gen_pg_catalog.py"
    assert _callables(conninfo) == _shipped_callables(18), "run scripts/gen_pg_catalog.py"


@pytest.mark.db
@pytest.mark.xdist_group("pg15")
def test_builtin_function_cases_and_shipped_functions_match_postgresql_15(
    pg15_server: str,
) -> None:
    assert _function_verdicts(pg15_server) == {
        FUNCTION_ON_15_ONLY: True, FUNCTION_ON_18_ONLY: False, FUNCTION_ON_BOTH: True}
    server = live(pg15_server)
    assert server is not None
    shipped_15 = _catalog(15)
    assert (server.functions, server.one_argument) == (
        shipped_15.functions, shipped_15.one_argument), "run scripts/gen_pg_catalog.py"
    assert _callables(pg15_server) == _shipped_callables(15), "run scripts/gen_pg_catalog.py"


@pytest.mark.db
@pytest.mark.xdist_group("pg17")
def test_builtin_function_cases_and_shipped_functions_match_postgresql_17(
    pg17_server: str,
) -> None:
    # 17 still has pg_stat_get_wal()'s write columns and already has inactive_since.
    assert _function_verdicts(pg17_server) == {
        FUNCTION_ON_15_ONLY: True, FUNCTION_ON_18_ONLY: True, FUNCTION_ON_BOTH: True}
    server = live(pg17_server)
    assert server is not None
    shipped_17 = _catalog(17)
    assert (server.functions, server.one_argument) == (
        shipped_17.functions, shipped_17.one_argument), "run scripts/gen_pg_catalog.py"
    assert _callables(pg17_server) == _shipped_callables(17), "run scripts/gen_pg_catalog.py"


# -- PostgreSQL 17 (Supabase's default): its catalog is neither 15's nor 18's. pg_stat_io
# (16 on) had op_bytes until 18 split it into read_bytes/write_bytes/extend_bytes;
# pg_stat_get_wal() kept wal_write until 18; pg_database.daticulocale was renamed in 17.
# (statement, whether 17 runs it, whether 18 does)
ON_17 = [
    ("SELECT op_bytes FROM pg_stat_io", True, False),
    ("SELECT w.wal_write FROM pg_stat_get_wal() AS w", True, False),
    ("SELECT s.inactive_since FROM pg_get_replication_slots() AS s", True, True),
    ("SELECT datlocale FROM pg_database", True, True),
    ("SELECT read_bytes FROM pg_stat_io", False, True),
    ("SELECT daticulocale FROM pg_database", False, False),
]


def _runs(conninfo: str, sql: str) -> bool:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            conn.execute(f"PREPARE p AS {sql}")
        except psycopg.errors.UndefinedColumn:
            return False
        conn.execute("DEALLOCATE p")
        return True


@pytest.mark.db
def test_the_17_cases_hold_on_postgresql_18(conninfo: str) -> None:
    assert [_runs(conninfo, sql) for sql, _, _ in ON_17] == [on_18 for _, _, on_18 in ON_17]


@pytest.mark.db
@pytest.mark.xdist_group("pg17")
def test_the_17_cases_hold_on_postgresql_17(pg17_server: str) -> None:
    assert [_runs(pg17_server, sql) for sql, _, _ in ON_17] == [on_17 for _, on_17, _ in ON_17]


def test_target_version_17_checks_17s_own_catalog(tmp_path: Path) -> None:
    snapshot = str(FIXTURES / "clinic_schema.json")
    root = _project(tmp_path, "".join(f"{sql};\n" for sql, _, _ in ON_17))
    lacking_17 = [sql for sql, on_17, _ in ON_17 if not on_17]
    findings = _run(root, snapshot=snapshot, cache=False, target_version="17")
    assert [message for _, message, _ in findings] == [
        "`pg_stat_io` has no column `read_bytes` on PostgreSQL 17",
        "`pg_database` has no column `daticulocale` on PostgreSQL 17"]
    assert len(findings) == len(lacking_17)
    # 18's catalog is another: what 17 has and 18 lacks is 18's finding only.
    findings = _run(root, snapshot=snapshot, cache=False, target_version="18")
    assert [message for _, message, _ in findings] == [
        "`pg_stat_io` has no column `op_bytes` on PostgreSQL 18",
        "`w` has no column `wal_write`",
        "`pg_database` has no column `daticulocale` on PostgreSQL 18"]


# -- end to end: which runs know the version ----------------------------------------------------


def _run(root: Path, **overrides: object):
    settings = load_settings(root, {k.replace("_", "-"): v for k, v in overrides.items()},
                             environ={})
    report = commands.validate(settings, [root / "q.sql"])
    return [(f.code, f.message, dict(f.context).get("PostgreSQL")) for f in report.findings]


def _project(tmp_path: Path, sql: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    (tmp_path / "q.sql").write_text(sql, encoding="utf-8")
    return tmp_path


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_a_live_database_checks_its_own_catalog_and_postgresql_confirms(
    database_url: str, tmp_path: Path,
) -> None:
    root = _project(tmp_path, f"SELECT nonesuch FROM pg_database;\n{';'.join(PASSING)};\n"
                              f"{ON_18_ONLY};\nSELECT * FROM pg_catalog.pg_nonesuch;\n")
    assert _run(root, database_url=database_url, cache=False) == [
        ("DBS302", "`pg_database` has no column `nonesuch` on PostgreSQL 18",
         '42703: column "nonesuch" does not exist'),
        ("DBS301", "no relation `pg_nonesuch` in schema `pg_catalog` on PostgreSQL 18",
         '42P01: relation "pg_catalog.pg_nonesuch" does not exist')]


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_a_target_older_than_the_live_server_is_not_dropped_by_it(
    database_url: str, tmp_path: Path,
) -> None:
    root = _project(tmp_path, f"{ON_18_ONLY};\n{ON_15_ONLY};\n")
    assert _run(root, database_url=database_url, cache=False, target_version="15") == [
        ("DBS302", "`pg_database` has no column `datlocale` on PostgreSQL 15",
         "not confirmed: checked against PostgreSQL 15's system catalog; "
         "PostgreSQL 18 has its own")]


def test_a_snapshot_is_checked_only_with_a_target_version(tmp_path: Path) -> None:
    snapshot = str(FIXTURES / "clinic_schema.json")
    root = _project(tmp_path, f"SELECT nonesuch FROM pg_database;\n{ON_15_ONLY};\n"
                              f"{ON_18_ONLY};\n")
    assert _run(root, snapshot=snapshot, cache=False) == []
    assert [m for _, m, _ in _run(root, snapshot=snapshot, cache=False, target_version="18")] == [
        "`pg_database` has no column `nonesuch` on PostgreSQL 18",
        "`pg_database` has no column `daticulocale` on PostgreSQL 18"]
    assert [m for _, m, _ in _run(root, snapshot=snapshot, cache=False, target_version="15")] == [
        "`pg_database` has no column `nonesuch` on PostgreSQL 15",
        "`pg_database` has no column `datlocale` on PostgreSQL 15"]
    # No catalog is shipped for 16: silent.
    assert _run(root, snapshot=snapshot, cache=False, target_version="16") == []


def test_the_cache_tells_catalogs_apart(tmp_path: Path) -> None:
    snapshot = str(FIXTURES / "clinic_schema.json")
    root = _project(tmp_path, f"{ON_18_ONLY};\n")
    cache = str(tmp_path / "cache")
    assert _run(root, snapshot=snapshot, cache_dir=cache) == []
    assert len(_run(root, snapshot=snapshot, cache_dir=cache, target_version="15")) == 1
    assert _run(root, snapshot=snapshot, cache_dir=cache, target_version="18") == []


# A tool picks each catalog query by the server it talks to (community.postgresql's
# postgresql_db module): a query in a branch that cannot run on PostgreSQL 18 is never sent
# to it. (version-gated statement, column PostgreSQL 18 lacks)
GATED_AWAY_FROM_18 = [
    ("if server_version >= 150000 and server_version < 170000:\n"
     "    q = 'SELECT daticulocale FROM pg_database'", "daticulocale"),
    ("if get_server_version(cursor.connection) >= 90200:\n"
     "    q = 'SELECT pid FROM pg_stat_activity'\n"
     "else:\n"
     "    q = 'SELECT procpid FROM pg_stat_activity'", "procpid"),
    ("if self.pg_version < 100000:\n"
     "    cur.execute('SELECT pg_stat_activity.waiting FROM pg_stat_activity')", "waiting"),
    ("q = ('SELECT datlocale FROM pg_database' if conn.info.server_version >= 170000\n"
     "     else 'SELECT daticulocale AS datlocale FROM pg_database')", "daticulocale"),
    ("if pg_version < 10:\n"
     "    cur.execute('SELECT xlog_location FROM pg_stat_replication')", "xlog_location"),
    # an `if` that leaves the function first: what follows runs where its test fails
    ("if server_version >= 90600:\n"
     "    return None\n"
     "cur.execute('SELECT waiting FROM pg_stat_activity')", "waiting"),
    # pg_view's `dbver`, a float: pg_stat_activity's columns before 9.2
    ("if self.dbver < 9.2:\n"
     "    cur.execute('SELECT procpid FROM pg_stat_activity')", "procpid"),
]
# Gates that let the branch run on 18, or test something else: still checked.
GATED_TOWARDS_18 = [
    ("if server_version >= 150000:\n"
     "    q = 'SELECT daticulocale FROM pg_database'", "daticulocale"),
    ("if not server_version < 170000:\n"
     "    q = 'SELECT procpid FROM pg_stat_activity'", "procpid"),
    ("if api_version < 2:\n"
     "    q = 'SELECT waiting FROM pg_stat_activity'", "waiting"),
    ("if sys.version_info < (3, 8):\n"
     "    q = 'SELECT xlog_location FROM pg_stat_replication'", "xlog_location"),
    ("if server_version < 90600:\n"
     "    raise RuntimeError('too old')\n"
     "cur.execute('SELECT waiting FROM pg_stat_activity')", "waiting"),
    ("if self.driver_ver < 9.2:\n"  # a `ver` not the database's
     "    cur.execute('SELECT procpid FROM pg_stat_activity')", "procpid"),
]
# pghoard's calls of built-ins PostgreSQL renamed in 10 or dropped in 15, in branches that run
# on no version whose pg_catalog dbsafe knows (15, 17, 18): (code, the function named).
GATED_CALLS_AWAY = [
    ("if self.pg_version_server >= 100000:\n"
     "    cur.execute('SELECT pg_walfile_name(pg_current_wal_lsn())')\n"
     "else:\n"
     "    cur.execute('SELECT pg_xlogfile_name(pg_current_xlog_location())')",
     "pg_xlogfile_name"),
    ("if conn.server_version >= 150000:\n"
     "    cur.execute('SELECT labelfile FROM pg_backup_stop()')\n"
     "else:\n"
     "    cur.execute('SELECT labelfile FROM pg_catalog.pg_stop_backup(false)')",
     "pg_catalog.pg_stop_backup"),
]
# Still DBS314: a branch that runs on 15 (which lacks `pg_stop_backup` too), and a function
# of the application's schema, which no version's pg_catalog holds.
GATED_CALLS_KEPT = [
    ("if server_version < 170000:\n"
     "    cur.execute('SELECT pg_stop_backup(false)')", "pg_stop_backup"),
    ("if server_version < 100000:\n"
     "    cur.execute('SELECT public.nonesuch_fn()')", "nonesuch_fn"),
]


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_the_gated_statements_fail_on_postgresql_18(conninfo: str) -> None:
    """Each gated statement is really wrong for 18: only the gate makes it no finding."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for code, column in GATED_AWAY_FROM_18 + GATED_TOWARDS_18:
            for sql in re.findall(r"'(SELECT [^']*)'", code):
                if column in sql:
                    with pytest.raises(psycopg.errors.UndefinedColumn):
                        conn.execute(f"PREPARE p AS {sql}")
        for code, function in GATED_CALLS_AWAY + GATED_CALLS_KEPT:
            gated, = (sql for sql in re.findall(r"'(SELECT [^']*)'", code) if function in sql)
            with pytest.raises(psycopg.errors.UndefinedFunction):
                conn.execute(f"PREPARE p AS {gated}")


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_a_statement_the_code_sends_only_to_other_versions_is_not_checked_on_18(
    database_url: str, tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    functions = []
    for i, (code, _) in enumerate(GATED_AWAY_FROM_18 + GATED_TOWARDS_18 + GATED_CALLS_AWAY
                                  + GATED_CALLS_KEPT):
        lines = code.splitlines() + (["cur.execute(q)"] if "q =" in code else [])
        functions.append(f"def f{i}(self, cur, conn, cursor, server_version, pg_version, "
                         f"api_version):\n" + "".join(f"    {line}\n" for line in lines))
    body = "\n\n".join(functions)
    (tmp_path / "q.py").write_text("import sys\n\n" + body, encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path / "q.py"])
    assert sorted((f.code, f.subject.rsplit(".", 1)[-1]) for f in report.findings) == sorted(
        [("DBS302", column) for _, column in GATED_TOWARDS_18]
        + [("DBS314", function) for _, function in GATED_CALLS_KEPT])
    assert all(dict(f.context)["PostgreSQL"][:5] in ("42703", "42883") for f in report.findings)
    reasons = [s.reason for s in report.skipped if "system catalog" in s.reason]
    assert reasons == ["not analysed: reads PostgreSQL 18's system catalog, a version the "
                       "code does not send it to"] * len(GATED_AWAY_FROM_18)
    assert [s.reason for s in report.skipped if "lack" in s.reason] == [
        f"not analysed: calls `{function}`, which PostgreSQL 15, 17 and 18 lack, in code that "
        f"sends it only to other versions" for _, function in GATED_CALLS_AWAY]


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_a_file_a_higher_version_folder_also_holds_is_not_checked_on_18(
    database_url: str, tmp_path: Path,
) -> None:
    # pgAdmin's templates: its loader reads `17_plus/get_icu_locale.sql` on 17 and later
    (tmp_path / "pyproject.toml").write_text("[tool.dbsafe]\n", encoding="utf-8")
    files = {"15_plus/get_icu_locale.sql": "SELECT colliculocale FROM pg_catalog.pg_collation;",
             "17_plus/get_icu_locale.sql": "SELECT colllocale FROM pg_catalog.pg_collation;",
             "16_plus/get_ctypes.sql": "SELECT daticulocale FROM pg_catalog.pg_database;"}
    for name, sql in files.items():
        (tmp_path / "sql" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "sql" / name).write_text(sql + "\n", encoding="utf-8")
    settings = load_settings(tmp_path, {"database-url": database_url, "cache": False},
                             environ={})
    report = commands.validate(settings, [tmp_path])
    assert [(f.location.path, f.subject) for f in report.findings if f.location] == [
        ("sql/16_plus/get_ctypes.sql", "pg_catalog.pg_database.daticulocale")]
    assert [(s.location.path, s.reason) for s in report.skipped] == [
        ("sql/15_plus/get_icu_locale.sql", "not analysed: reads PostgreSQL 18's system "
                                           "catalog, a version the code does not send it to")]


@pytest.mark.db
def test_a_schema_function_shadowing_a_builtin_leaves_its_columns_unknown(
    postgresql: psycopg.Connection,
) -> None:
    from dbsafe.schema.introspect import introspect

    # For an integer PostgreSQL calls this one, for text pg_catalog's: which depends on the
    # argument, so neither's columns are claimed.
    postgresql.execute("CREATE FUNCTION public.pg_ls_dir(n int) RETURNS TABLE (x int) "
                       "LANGUAGE sql AS $$ SELECT n $$")
    postgresql.commit()
    snapshot = introspect(postgresql)
    for n, sql in enumerate(("SELECT d.x FROM pg_ls_dir(1) AS d",
                             "SELECT d.d FROM pg_ls_dir('.') AS d")):
        postgresql.execute(f"PREPARE p{n} AS {sql}")
        resolution = resolve(sql, snapshot)
        assert (resolution.status, resolution.problems) == ("not_analysed", ()), sql


# -- information_schema: its views and the sql_* tables, per version, when named with the
# schema. `element_types.domain_default` is gone in 17 (15 has it).
INFO_PASSING = [
    "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name = 'patients'",
    "SELECT t.table_name FROM information_schema.tables t WHERE t.table_type = 'BASE TABLE'",
    "SELECT kcu.column_name, ccu.table_name FROM information_schema.key_column_usage kcu "
    "JOIN information_schema.constraint_column_usage ccu USING (constraint_schema, "
    "constraint_name)",
    "SELECT ctid, feature_id FROM information_schema.sql_features",  # a table: system columns
    "SELECT c FROM information_schema.columns AS c",
]
# Wrong on 15, 17 and 18: (sql, the identifier reported, its message).
INFO_FLAGGED = [
    ("SELECT * FROM information_schema.colums", "colums",
     "no relation `colums` in schema `information_schema` on PostgreSQL {major}"),
    ("SELECT colum_name FROM information_schema.columns", "colum_name",
     "`information_schema.columns` has no column `colum_name` on PostgreSQL {major}"),
    ("SELECT c.colum_name FROM information_schema.columns c", "colum_name",
     "`information_schema.columns` has no column `colum_name` on PostgreSQL {major}"),
    ("SELECT ctid FROM information_schema.tables", "ctid",  # a view: none
     "`information_schema.tables` has no column `ctid` on PostgreSQL {major}"),
]
INFO_ON_15_ONLY = "SELECT domain_default FROM information_schema.element_types"


@pytest.mark.parametrize("major", [15, 17, 18])
def test_information_schema_is_checked_against_the_versions_catalog(
    major: int, clinic: SchemaSnapshot,
) -> None:
    catalog = _catalog(major)
    for sql in INFO_PASSING:
        resolution = resolve(sql, clinic, catalog=catalog)
        assert (resolution.status, resolution.problems) == ("analysed", ()), sql
    for sql, identifier, message in INFO_FLAGGED:
        (problem,) = resolve(sql, clinic, catalog=catalog).problems
        assert (sql[problem.start:problem.end + 1], problem.message, problem.catalog_version) \
            == (identifier, message.format(major=major), major), sql
    (problem,) = resolve(INFO_FLAGGED[0][0], clinic, catalog=catalog).problems
    assert (problem.code, problem.subject, problem.help) == (
        "DBS301", "information_schema.colums", "Did you mean `columns`?")
    (problem,) = resolve(INFO_FLAGGED[1][0], clinic, catalog=catalog).problems
    assert (problem.code, problem.subject, problem.help) == (
        "DBS302", "information_schema.columns.colum_name", "Did you mean `column_name`?")
    # judged by the version: a column 15 has and 17, 18 lack
    assert _flagged(INFO_ON_15_ONLY, clinic, catalog) == (
        [] if major == 15 else ["domain_default"])


def test_without_a_catalog_information_schema_stays_unchecked(clinic: SchemaSnapshot) -> None:
    for sql in [*INFO_PASSING, *(s for s, _, _ in INFO_FLAGGED), INFO_ON_15_ONLY]:
        assert resolve(sql, clinic).problems == (), sql


def test_information_schema_unqualified_or_extended_is_not_judged(clinic: SchemaSnapshot) -> None:
    from dbsafe.schema.model import Extension

    catalog = _catalog(17)
    # Not in the search path: `columns` is the application's own (as before).
    (problem,) = resolve("SELECT colum_name FROM columns", clinic, catalog=catalog).problems
    assert (problem.code, problem.catalog_version) == ("DBS301", None)
    # An extension installed into information_schema may have made any relation there.
    extended = replace(clinic, extensions=(Extension("probe", "information_schema", "1.0"),))
    assert _flagged("SELECT * FROM information_schema.colums", extended, catalog) == []
    # A shipped catalog without information_schema (an older data file) knows none of it.
    unknown = replace(catalog, information_schema=None)
    assert _flagged("SELECT * FROM information_schema.colums", clinic, unknown) == []
    assert resolve(INFO_FLAGGED[1][0], clinic, catalog=unknown).status == "not_analysed"


def _info_verdicts(conninfo: str) -> list[str]:
    """The SQLSTATE each information_schema case gets from the server (None: accepted)."""
    states: list[str | None] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for sql in [*INFO_PASSING, *(s for s, _, _ in INFO_FLAGGED), INFO_ON_15_ONLY]:
            try:
                conn.execute(f"PREPARE p AS {sql}")
                conn.execute("DEALLOCATE p")
                states.append(None)
            except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable) as exc:
                states.append(exc.sqlstate)
    return [str(s) for s in states]


_INFO_REJECTED = ["42P01", "42703", "42703", "42703"]


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_information_schema_cases_and_shipped_catalog_match_postgresql_18(conninfo: str) -> None:
    assert _info_verdicts(conninfo) == ["None"] * len(INFO_PASSING) + _INFO_REJECTED + ["42703"]
    server = live(conninfo)
    assert server is not None and server.information_schema
    assert server.information_schema == _catalog(18).information_schema, \
        "run scripts/gen_pg_catalog.py"


@pytest.mark.db
@pytest.mark.xdist_group("pg15")
def test_information_schema_cases_and_shipped_catalog_match_postgresql_15(
    pg15_server: str,
) -> None:
    assert _info_verdicts(pg15_server) == ["None"] * len(INFO_PASSING) + _INFO_REJECTED + ["None"]
    server = live(pg15_server)
    assert server is not None and server.information_schema
    assert server.information_schema == _catalog(15).information_schema, \
        "run scripts/gen_pg_catalog.py"


@pytest.mark.db
@pytest.mark.xdist_group("pg17")
def test_information_schema_cases_and_shipped_catalog_match_postgresql_17(
    pg17_server: str,
) -> None:
    assert _info_verdicts(pg17_server) == ["None"] * len(INFO_PASSING) + _INFO_REJECTED + ["42703"]
    server = live(pg17_server)
    assert server is not None and server.information_schema
    assert server.information_schema == _catalog(17).information_schema, \
        "run scripts/gen_pg_catalog.py"


def test_target_version_checks_information_schema_at_file_line_col(tmp_path: Path) -> None:
    snapshot = str(FIXTURES / "clinic_schema.json")
    root = _project(tmp_path, "SELECT column_name FROM information_schema.columns;\n"
                              "SELECT colum_name\n  FROM information_schema.columns;\n"
                              "SELECT * FROM information_schema.colums;\n"
                              f"{INFO_ON_15_ONLY};\n"
                              # a script's own views there: their columns are the script's
                              "CREATE VIEW information_schema.mine AS SELECT 1 AS a;\n"
                              "SELECT a FROM information_schema.mine;\n"
                              "CREATE OR REPLACE VIEW information_schema.views AS SELECT 1 AS b;\n"
                              "SELECT b FROM information_schema.views;\n")
    settings = load_settings(root, {"snapshot": snapshot, "cache": False,
                                    "target-version": "17"}, environ={})
    report = commands.validate(settings, [root / "q.sql"])
    assert [(f.code, f.location.line, f.location.column, f.message, dict(f.context).get(
        "PostgreSQL")) for f in report.findings if f.location] == [
        ("DBS302", 2, 8, "`information_schema.columns` has no column `colum_name` on "
                         "PostgreSQL 17", None),
        ("DBS301", 4, 34, "no relation `colums` in schema `information_schema` on "
                          "PostgreSQL 17", None),
        ("DBS302", 5, 8, "`information_schema.element_types` has no column `domain_default` "
                         "on PostgreSQL 17", None)]
    # 15 has domain_default
    report = commands.validate(replace(settings, target_version=150000), [root / "q.sql"])
    assert [f.location.line for f in report.findings if f.location] == [2, 4]


@pytest.mark.db
@pytest.mark.usefixtures("server_is_18")
def test_a_live_database_checks_information_schema_and_postgresql_confirms(
    database_url: str, tmp_path: Path,
) -> None:
    root = _project(tmp_path, f"{';'.join(INFO_PASSING)};\n"
                              "SELECT colum_name FROM information_schema.columns;\n"
                              "SELECT * FROM information_schema.colums;\n")
    assert _run(root, database_url=database_url, cache=False) == [
        ("DBS302", "`information_schema.columns` has no column `colum_name` on PostgreSQL 18",
         '42703: column "colum_name" does not exist'),
        ("DBS301", "no relation `colums` in schema `information_schema` on PostgreSQL 18",
         '42P01: relation "information_schema.colums" does not exist')]
    # Checked against 17's (a Supabase project on 17): this server's verdict would not apply.
    assert [context for _, _, context in _run(root, database_url=database_url, cache=False,
                                               target_version="17")] == [
        "not confirmed: checked against PostgreSQL 17's system catalog; PostgreSQL 18 has "
        "its own"] * 2
